from corral import Process, Queue
def producer(queue):
    queue.put("a")
def consumer(queue):
    data = queue.get()
    print(data)
if __name__ == "__main__":
    q = Queue()
    p = Process(target=producer, args=(q,))
    c = Process(target=consumer, args=(q,))
    p.start()
    c.start()
    p.join()
    c.join()
