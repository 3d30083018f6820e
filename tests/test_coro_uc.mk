# the same tests as test_coro, on the portable ucontext switch
test_coro_uc_MODULES = ../chapters/07-coroutine/coro_ucontext.c
