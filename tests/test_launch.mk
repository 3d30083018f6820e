# the launcher of chapters/13-cluster (no MPI in it); the test also runs the chapter's
# programs under mpiexec when they were built
test_launch_MODULES = ../chapters/13-cluster/launch.c ../chapters/13-cluster/leftovers.c
