# chapter 13's experiments and figures (see mk/plots.mk); only where the chapter was
# built (it needs MPICH)
ifneq ($(wildcard chapters/13-cluster/mpi_bench),)
$(eval $(call experiment,13-cluster,mpi_bench,chapter 03's job on MPI against the pool))
mpi_bench_TIME := work:10
$(eval $(call figure,mpi_speedup,mpi_bench))
$(eval $(call figure,mpi_costs,mpi_bench))
else
$(info chapter 13: not built (no MPICH: 'make deps' installs mpich and libmpich-dev); its figures are skipped)
endif
