/*
 * sandboxer-localvm-forward — the port forwarder of one LocalVM sandbox.
 *
 *   sandboxer-localvm-forward SANDBOX_ID FD=ADDRESS:PORT...
 *
 * The plugin binds and listens on each published host address itself (so a port that is taken
 * fails the create, and port 0 becomes a real port before anyone asks), starts this program with
 * those sockets as FD (3, 4, ...), and it relays every accepted connection to ADDRESS:PORT, the
 * sandbox's address on its own link. SANDBOX_ID only names the process for `ps`.
 *
 * It drops to nobody (65534) with no_new_privs before it touches a byte, runs one poll loop, holds
 * at most MAX_PAIRS connections with two fixed buffers each (memory is bounded; further clients
 * wait in the listen backlog), and never exits on its own: the plugin ends it with the sandbox
 * (it lives in the sandbox's v2 cgroup, so `cgroup.kill` takes it too).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LISTENERS 64
#define MAX_PAIRS 128
#define BUF_SIZE 16384
#define NOBODY 65534

struct listener {
    int fd;
    struct sockaddr_in target;
};

/* One relayed connection: side 0 is the client, side 1 the sandbox. buf[i] holds bytes read
 * from side i that still have to be written to the other side. */
struct pair {
    int fd[2];
    int connecting;
    int eof[2];      /* side i said EOF */
    int shut[2];     /* we shut down writing towards side i */
    size_t len[2], off[2];
    char buf[2][BUF_SIZE];
};

static struct listener listeners[MAX_LISTENERS];
static int listener_count;
static struct pair pairs[MAX_PAIRS];
static int pair_used[MAX_PAIRS];
static int pair_count;

static void die(const char *what) {
    fprintf(stderr, "sandboxer-localvm-forward: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int parse_arg(const char *arg, struct listener *l) {
    char copy[128];
    if (strlen(arg) >= sizeof copy) return -1;
    strcpy(copy, arg);
    char *eq = strchr(copy, '='), *colon = strrchr(copy, ':');
    if (!eq || !colon || colon < eq) return -1;
    *eq = 0;
    *colon = 0;
    char *end;
    long fd = strtol(copy, &end, 10);
    if (*end || fd < 3 || fd > 3 + MAX_LISTENERS) return -1;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535) return -1;
    memset(&l->target, 0, sizeof l->target);
    l->target.sin_family = AF_INET;
    l->target.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, eq + 1, &l->target.sin_addr) != 1) return -1;
    l->fd = (int)fd;
    return 0;
}

static void close_pair(int i) {
    close(pairs[i].fd[0]);
    close(pairs[i].fd[1]);
    pair_used[i] = 0;
    pair_count--;
}

static void accept_one(struct listener *l) {
    int client = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) return; /* EAGAIN, or the client gave up: nothing to do */
    int i = 0;
    while (i < MAX_PAIRS && pair_used[i]) i++;
    int up = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (i == MAX_PAIRS || up < 0) { close(client); if (up >= 0) close(up); return; }
    int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = connect(up, (struct sockaddr *)&l->target, sizeof l->target);
    if (rc < 0 && errno != EINPROGRESS) { close(client); close(up); return; }
    struct pair *p = &pairs[i];
    memset(p, 0, offsetof(struct pair, buf));
    p->fd[0] = client;
    p->fd[1] = up;
    p->connecting = rc < 0;
    pair_used[i] = 1;
    pair_count++;
}

/* Moves bytes for one pair after poll; returns -1 when the pair is finished. */
static int service(struct pair *p, const short *revents) {
    if (p->connecting) {
        if (!(revents[1] & (POLLOUT | POLLERR | POLLHUP))) return 0;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(p->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) return -1;
        p->connecting = 0;
        return 0;
    }
    for (int i = 0; i < 2; i++) {
        int other = 1 - i;
        /* Read from side i when its buffer is empty. */
        if (!p->eof[i] && p->len[i] == 0 && (revents[i] & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(p->fd[i], p->buf[i], BUF_SIZE);
            if (n > 0) { p->len[i] = (size_t)n; p->off[i] = 0; }
            else if (n == 0) p->eof[i] = 1;
            else if (errno != EAGAIN && errno != EINTR) return -1;
        }
        /* Write what side i sent to the other side. */
        if (p->len[i] > p->off[i]) {
            ssize_t n = send(p->fd[other], p->buf[i] + p->off[i], p->len[i] - p->off[i], MSG_NOSIGNAL);
            if (n > 0) {
                p->off[i] += (size_t)n;
                if (p->off[i] == p->len[i]) p->len[i] = p->off[i] = 0;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                return -1;
            }
        }
        /* Side i hung up entirely and nothing is left for it: poll would report that forever. */
        if ((revents[i] & POLLERR) || ((revents[i] & POLLHUP) && p->eof[i] && p->len[other] == 0)) return -1;
        /* Side i is done and all its bytes are out: pass the half-close on. */
        if (p->eof[i] && p->len[i] == 0 && !p->shut[other]) {
            shutdown(p->fd[other], SHUT_WR);
            p->shut[other] = 1;
        }
    }
    return (p->eof[0] && p->eof[1] && p->len[0] == 0 && p->len[1] == 0) ? -1 : 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: sandboxer-localvm-forward SANDBOX_ID FD=ADDRESS:PORT...\n");
        return 2;
    }
    for (int a = 2; a < argc; a++) {
        if (listener_count == MAX_LISTENERS || parse_arg(argv[a], &listeners[listener_count]) < 0) {
            fprintf(stderr, "sandboxer-localvm-forward: bad listener '%s'\n", argv[a]);
            return 2;
        }
        int accepting = 0;
        socklen_t len = sizeof accepting;
        if (getsockopt(listeners[listener_count].fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) < 0 || !accepting) {
            fprintf(stderr, "sandboxer-localvm-forward: fd %d is not a listening socket\n", listeners[listener_count].fd);
            return 2;
        }
        int flags = fcntl(listeners[listener_count].fd, F_GETFL);
        if (flags < 0 || fcntl(listeners[listener_count].fd, F_SETFL, flags | O_NONBLOCK) < 0) die("fcntl");
        listener_count++;
    }
    /* The sockets are bound already: nothing here needs root. */
    if (getuid() == 0) {
        if (setgroups(0, NULL) < 0) die("setgroups");
        if (setresgid(NOBODY, NOBODY, NOBODY) < 0) die("setresgid");
        if (setresuid(NOBODY, NOBODY, NOBODY) < 0) die("setresuid");
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("prctl");
    signal(SIGPIPE, SIG_IGN);

    static struct pollfd fds[MAX_LISTENERS + 2 * MAX_PAIRS];
    static int owner[MAX_LISTENERS + 2 * MAX_PAIRS];
    for (;;) {
        int n = 0;
        if (pair_count < MAX_PAIRS) {
            for (int i = 0; i < listener_count; i++) {
                fds[n].fd = listeners[i].fd;
                fds[n].events = POLLIN;
                owner[n++] = -1 - i;
            }
        }
        for (int i = 0; i < MAX_PAIRS; i++) {
            if (!pair_used[i]) continue;
            struct pair *p = &pairs[i];
            for (int side = 0; side < 2; side++) {
                short ev = 0;
                if (p->connecting) {
                    if (side == 1) ev = POLLOUT;
                } else {
                    if (!p->eof[side] && p->len[side] == 0) ev |= POLLIN;
                    if (p->len[1 - side] > p->off[1 - side]) ev |= POLLOUT;
                }
                fds[n].fd = p->fd[side];
                fds[n].events = ev;
                owner[n++] = i;
            }
        }
        if (poll(fds, (nfds_t)n, -1) < 0) {
            if (errno == EINTR) continue;
            die("poll");
        }
        for (int k = 0; k < n; k++) {
            if (owner[k] < 0) {
                if (fds[k].revents & POLLIN) accept_one(&listeners[-1 - owner[k]]);
                continue;
            }
            int i = owner[k];
            /* Both fds of a pair are consecutive entries: service the pair once, at its first. */
            if (k + 1 >= n || owner[k + 1] != i || !pair_used[i]) continue;
            short revents[2] = { fds[k].revents, fds[k + 1].revents };
            if (service(&pairs[i], revents) < 0) close_pair(i);
            k++;
        }
    }
}
