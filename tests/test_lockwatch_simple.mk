# the same tests as test_lockwatch, those that apply, on chapters/05-deadlock's lockwatch_simple.c
test_lockwatch_simple_MODULES = ../chapters/05-deadlock/lockwatch_simple.c
