"""Allocates far past its memory limit (tests only)."""

import time

hog = []
for _ in range(400):
    hog.append(bytearray(1024 * 1024))  # 1 MiB each, touched
    hog[-1][::4096] = b"x" * len(hog[-1][::4096])
time.sleep(5)
print("still alive: the memory limit did not hold")
