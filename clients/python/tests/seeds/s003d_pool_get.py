from corral import Pool
from time import sleep
import os

def text(con):
  sleep(2)
  con = con**2
  return con

if __name__ == "__main__":
  pool = Pool(2)
  for i in range(1,5):
    result = pool.apply_async(text, args=(i,))
    print(result.get())
  pool.close()
  pool.join()
