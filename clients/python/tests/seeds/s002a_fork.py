import os
import time
pid = os.fork() # 从这个地方开始,进程变成两个,子进程完全克隆父进程的数据、代码等
print('bobby')
if pid == 0: # 通过 pid 是否为 0 判断是否子进程
    print(f'子进程 id: {os.getpid()},父进程 id: {os.getppid()}')
else:
    print(f'我是父进程:{os.getpid()}')
    time.sleep(2)
