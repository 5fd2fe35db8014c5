from corral import Pool
import time

def f(x):
    time.sleep(20)
    return x*x

if __name__ == '__main__':
    p = Pool(5)
    print(p.map(f, [1, 2, 3]))
