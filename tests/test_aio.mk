# the stackless tasks and their event loop (asyncio's shape)
test_aio_MODULES = ../chapters/07-coroutine/aio.c
