# the stackful coroutines with the hand-written switch (x86-64 or aarch64)
test_coro_MODULES = ../chapters/07-coroutine/coro.c
