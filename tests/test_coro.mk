# the stackful coroutines with the hand-written x86-64 switch
test_coro_MODULES = ../chapters/07-coroutine/coro.c
