from corral import Pipe
pipe1, pipe2 = Pipe() # 创建一个 双工通道
recv_pipe, send_pipe = Pipe(duplex=False) # 创建一个 单工通道
