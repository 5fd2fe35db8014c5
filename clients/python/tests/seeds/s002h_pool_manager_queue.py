from corral import Pool, Manager
def producer(queue):
    queue.put("a")
def consumer(queue):
    data = queue.get()
    print(data)
if __name__ == "__main__":
    q = Manager().Queue()
    pool = Pool(2)
    pool.apply_async(producer, args=(q,))
    pool.apply_async(consumer, args=(q,))
    pool.close()
    pool.join()
