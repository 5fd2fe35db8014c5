import time
from corral import Pool
def download(sleep_time):
    time.sleep(sleep_time)
    print("download %d is finished" % sleep_time)
    return sleep_time
if __name__ == "__main__":
    pool = Pool()
    iter = pool.imap(download, [1, 5, 3]) # 创建多个任务放入进程池并开始执行,返回一个迭代器
    for r in iter: # 遍历该迭代器可以 按顺序 获取到结果。(只是获取结果是按顺序的,进程执行仍然是无序的)
        print(r)
