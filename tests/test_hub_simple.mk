# the same tests as test_hub, those that apply, on the minimal hub of chapters/07-coroutine
test_hub_simple_MODULES = ../chapters/07-coroutine/coro_simple.c ../chapters/07-coroutine/hub_simple.c
