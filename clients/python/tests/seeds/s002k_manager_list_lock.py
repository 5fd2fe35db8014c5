from corral import Process, Manager
def producer(ls, lock):
    for i in range(1000):
        lock.acquire()
        ls[0] += 1
        lock.release()
def consumer(ls, lock):
    for i in range(1000):
        lock.acquire()
        ls[0] -= 1
        lock.release()
if __name__ == "__main__":
    manager = Manager()
    ls = manager.list()
    lock = manager.Lock()
    ls.append(0)
    p = Process(target=producer, args=(ls, lock))
    c = Process(target=consumer, args=(ls, lock))
    p.start()
    c.start()
    p.join()
    c.join()
    print(ls[0])
