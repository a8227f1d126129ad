/* Per-thread scheduling: the threads that serve readers give way to the ones that must keep up. */
#ifndef AG_THREAD_H
#define AG_THREAD_H

/* Raises the calling thread's nice value by delta (at most to 19). Linux keeps a nice value per
 * thread (setpriority on a thread id), and raising it needs no privilege; it matters only when
 * every core is busy. 0 on success (or delta <= 0), else the errno of the failure, the thread
 * left as it was. */
int ag_thread_nice_add(int delta);
/* the calling thread's nice value */
int ag_thread_nice(void);

#endif
