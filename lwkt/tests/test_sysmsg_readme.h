/* Reads a file through a syscall service on another cpu: up to 8 preads
 * in flight, each reply sends the next piece; plus one synchronous call. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lwkt/cpu.h>
#include <lwkt/sysmsg.h>
#include <lwkt/thread.h>

#define PIECE 4096
#define INFLIGHT 8

static struct sysmsg_service *svc;
static int fd;
static long long total;		/* bytes read */

static void
reader(void *arg)
{
	(void)arg;
	static char buf[INFLIGHT][PIECE];
	struct sysmsg_client *c = sysmsg_client_create(INFLIGHT);
	off_t next = 0;
	for (int i = 0; i < INFLIGHT; i++, next += PIECE) {
		struct sysmsg *sm = sysmsg_client_msg(c, i);
		sysmsg_prep(sm, SYSMSG_PREAD, fd, buf[i], PIECE, next);
		sysmsg_client_send(c, svc, sm);
	}
	struct sysmsg *sm;
	while ((sm = sysmsg_client_wait(c)) != NULL) {
		if (sm->sm_result < 0) {
			fprintf(stderr, "pread: error %d\n", sm->sm_lmsg.ms_error);
		} else if (sm->sm_result > 0) {
			total += sm->sm_result;
			sm->sm_off = next;	/* same buffer, next piece */
			next += PIECE;
			sysmsg_client_send(c, svc, sm);
		}
	}
	sysmsg_client_destroy(c);
	printf("parent pid %d (asked through the service)\n",
	       (int)sysmsg_getppid(svc));
}

int
main(void)
{
	lwkt_thread_t td;
	fd = open("/proc/self/exe", O_RDONLY);
	if (fd < 0 || lwkt_init(NULL) != 0)
		return 1;
	/* The last cpu (the only one on a one-PU host). */
	if (sysmsg_service_start(lwkt_ncpus() - 1, &svc) != 0 ||
	    lwkt_create(reader, NULL, 0, 0, &td, "reader") != 0)
		return 1;
	lwkt_join(td);
	sysmsg_service_stop(svc);
	lwkt_shutdown();
	printf("read %lld bytes\n", total);
	close(fd);
	return 0;
}
