package protocol

//go:generate go run ./internal/generrors/cmd ../spec/errors.json errors_gen.go
