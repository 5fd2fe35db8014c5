from corral import Pool
from time import sleep
import os

def text(con):
  sleep(2)
  con = con**2
  return con

if __name__ == "__main__":
  pool = Pool(2)
  results = pool.map(text, (1,2,3,4))
  print(results)
  pool.close()
  pool.join()
