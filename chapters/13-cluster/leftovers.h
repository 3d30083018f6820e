/* leftovers.h: what a killed MPI job leaves behind, and its removal (launch.c uses it).
 *
 * MPICH keeps a machine's shared memory in a file, /dev/shm/mpich_shar_tmpXXXXXX
 * (/tmp/mpich_shar_tmpXXXXXX when /dev/shm is not writable), made with mkstemp by one
 * rank, its name passed to the others through the launcher, and unlinked inside
 * MPI_Init once every rank of the machine has mapped it. A job killed before that (an
 * interrupt during start-up) leaves the file behind, and nothing will ever remove it.
 */
#ifndef WORKBOOK_LEFTOVERS_H
#define WORKBOOK_LEFTOVERS_H

#include "common.h"

/* Removes those files of ours modified at `since` or later that no process holds
 * (open or mapped, as /proc shows), saying so on stderr. Safe beside other jobs: a
 * file that is still in use, by a job starting or running, is always held. */
void remove_mpich_leftovers(time_t since);

#endif
