# the build's check of the system (mk/platform.sh): no module of its own
test_platform_MODULES =
