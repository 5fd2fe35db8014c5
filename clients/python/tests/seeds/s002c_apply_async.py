import time
from corral import Pool
def download(sleep_time):
    time.sleep(sleep_time)
    print("download %d is finished" % sleep_time)
    return sleep_time
if __name__ == "__main__":
    pool = Pool(4) # 如果未指定进程数,默认为 cpu 个数
    results = []
    for i in [3, 1, 2]:
        r = pool.apply_async(download, args=(i,)) # 提交任务,返回一个类似 future 的对象,用来存储结果的
        results.append(r)
    pool.close() # pool.join() 之前需要先调用该方法将进程池关闭
    pool.join() # 将进程池内的进程都调一遍 join() 方法
    for r in results:
        print(r.get()) # get() 方法获取进程返回的结果
