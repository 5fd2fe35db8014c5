import time
from corral import Process
class Downloader(Process):
    def __init__(self, sleep_time):
        super().__init__()
        self.__sleep_time = sleep_time
    def run(self):
        time.sleep(self.__sleep_time)
        print("sub process %d is finished" % self.pid)
if __name__ == "__main__": # Windows 下多进程编程必须写在这里,Linux 下无所谓
    d = Downloader(1)
    print(d.pid) # None,因为进程还未启动
    d.start()
    print(d.pid) # 可以获取到进程的 pid
    d.join()
    print("main process is finished")
