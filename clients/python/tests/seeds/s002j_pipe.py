from corral import Process, Pipe
def producer(pipe):
    pipe.send("a")
def consumer(pipe):
    data = pipe.recv()
    print(data)
if __name__ == "__main__":
    pipe1, pipe2 = Pipe()
    p = Process(target=producer, args=(pipe1,))
    c = Process(target=consumer, args=(pipe2,))
    p.start()
    c.start()
    p.join()
    c.join()
