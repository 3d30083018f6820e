# generator.h is header-only: ../chapters/07-coroutine/generator.h (nothing to link)
test_generator_MODULES =
