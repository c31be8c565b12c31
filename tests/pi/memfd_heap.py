"""picamera2's own DmaAllocator with only the kernel under it replaced: this machine's kernel has no
dma-heaps (CONFIG_DMABUF_HEAPS is not set), so buffers come from memfd instead of
/dev/dma_heap/linux,cma, and the dma-buf cache sync (an ioctl a memfd does not know) is a no-op.
Everything else (the mappings, their use counts, their cleanup) is picamera2's code.

picamera2's legacy LibcameraAllocator is no substitute: with it, ``make_image`` fails
("cannot close exported pointers exist"), which is why picamera2 warns against it."""

from __future__ import annotations

import os
from typing import Any

from picamera2.allocators import DmaAllocator
from picamera2.allocators.allocator import Allocator
from picamera2.dma_heap import UniqueFD


class MemfdHeap:
    isValid = True

    def alloc(self, name: str, size: int) -> UniqueFD:
        fd = os.memfd_create(name, os.MFD_CLOEXEC)
        os.ftruncate(fd, size)
        return UniqueFD(fd)

    def close(self) -> None:
        pass


class MemfdSync(DmaAllocator.DmaSync):  # type: ignore[misc]
    def __enter__(self) -> Any:
        return self.get_buffer()

    def __exit__(self, *exc: object) -> None:
        pass


class MemfdAllocator(DmaAllocator):  # type: ignore[misc]
    def __init__(self) -> None:
        Allocator.__init__(self)  # DmaAllocator's own would open /dev/dma_heap; the rest as it
        self.dmaHeap = MemfdHeap()
        self.mapped_buffers: dict[Any, Any] = {}
        self.mapped_buffers_used: dict[int, bool] = {}
        self.frame_buffers: dict[Any, Any] = {}
        self.open_fds: list[int] = []
        self.libcamera_fds: list[int] = []
        self.sync = MemfdSync
