module github.com/corralhq/corral

go 1.26.8

require (
	github.com/segmentio/encoding v0.5.4
	go.uber.org/goleak v1.3.0
)

require (
	github.com/segmentio/asm v1.1.3 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
