// epoll for gateway-bench's attackers: Glibc's Swift module does not include <sys/epoll.h>.
#include <sys/epoll.h>
