# the same tests as test_coro, those that apply, on the minimal coroutines of chapters/07-coroutine
test_coro_simple_MODULES = ../chapters/07-coroutine/coro_simple.c
