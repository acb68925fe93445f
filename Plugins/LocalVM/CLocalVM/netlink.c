/*
 * netlink.c — the few rtnetlink requests a bridged sandbox needs: a veth pair whose peer is born
 * inside the sandbox's net namespace, an address, link up, a route, and link deletion.
 *
 * The launcher issues these from raw-cloned children of a multi-threaded process, so everything
 * here is plain system calls on stack buffers: no malloc, no stdio, no locks. One request is in
 * flight per socket; each is acknowledged (NLM_F_ACK) and the kernel's errno comes back as ours.
 */
#include "internal.h"
#include "clocalvm.h"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* Big enough for the largest request here (a veth pair with names and an alias). */
struct nl_msg {
    size_t len;
    char buf[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
};

static void *nl_reserve(struct nl_msg *m, size_t len) {
    size_t aligned = NLMSG_ALIGN(len);
    if (m->len + aligned > sizeof m->buf) return 0;
    void *p = m->buf + m->len;
    memset(p, 0, aligned);
    m->len += aligned;
    return p;
}

static struct nlmsghdr *nl_begin(struct nl_msg *m, uint16_t type, uint16_t flags, const void *body, size_t body_len) {
    m->len = 0;
    struct nlmsghdr *h = nl_reserve(m, NLMSG_HDRLEN);
    h->nlmsg_type = type;
    h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
    h->nlmsg_seq = 1;
    void *b = nl_reserve(m, body_len);
    memcpy(b, body, body_len);
    return h;
}

/* Appends one attribute; returns it (for nesting) or NULL when the buffer is full. */
static struct rtattr *nl_attr(struct nl_msg *m, unsigned short type, const void *data, size_t len) {
    struct rtattr *a = nl_reserve(m, RTA_LENGTH(len));
    if (!a) return 0;
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    if (len) memcpy(RTA_DATA(a), data, len);
    return a;
}

/* Closes a nested attribute opened with nl_attr(m, type, 0, 0). */
static void nl_nest_end(struct nl_msg *m, struct rtattr *nest) {
    nest->rta_len = (unsigned short)(m->buf + m->len - (char *)nest);
}

/* Sends the request and waits for its acknowledgement. Returns 0 or -1 with errno. */
static int nl_talk(int sk, struct nl_msg *m) {
    struct nlmsghdr *h = (struct nlmsghdr *)m->buf;
    h->nlmsg_len = (uint32_t)m->len;
    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof kernel);
    kernel.nl_family = AF_NETLINK;
    ssize_t r;
    do { r = sendto(sk, m->buf, m->len, 0, (struct sockaddr *)&kernel, sizeof kernel); } while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    char reply[4096] __attribute__((aligned(NLMSG_ALIGNTO)));
    for (;;) {
        do { r = recv(sk, reply, sizeof reply, 0); } while (r < 0 && errno == EINTR);
        if (r < 0) return -1;
        size_t left = (size_t)r;
        for (struct nlmsghdr *a = (struct nlmsghdr *)reply; NLMSG_OK(a, left); a = NLMSG_NEXT(a, left)) {
            if (a->nlmsg_seq != h->nlmsg_seq) continue;
            if (a->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(a);
                if (e->error == 0) return 0;
                errno = -e->error;
                return -1;
            }
        }
    }
}

int clvm_nl_open(void) {
    int sk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (sk < 0) return -1;
    struct sockaddr_nl local;
    memset(&local, 0, sizeof local);
    local.nl_family = AF_NETLINK;
    if (bind(sk, (struct sockaddr *)&local, sizeof local) < 0) {
        int saved = errno;
        close(sk);
        errno = saved;
        return -1;
    }
    return sk;
}

int clvm_nl_ifindex(const char *name) {
    size_t n = strlen(name);
    if (n >= IFNAMSIZ) { errno = ENAMETOOLONG; return -1; }
    int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sk < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, n + 1);
    int rc = ioctl(sk, SIOCGIFINDEX, &ifr);
    int saved = errno;
    close(sk);
    errno = saved;
    return rc < 0 ? -1 : ifr.ifr_ifindex;
}

int clvm_nl_veth_create(int sk, const char *host_name, const char *alias, const char *peer_name, long peer_pid) {
    struct nl_msg m;
    struct ifinfomsg ifi;
    memset(&ifi, 0, sizeof ifi);
    ifi.ifi_family = AF_UNSPEC;
    nl_begin(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
    nl_attr(&m, IFLA_IFNAME, host_name, strlen(host_name) + 1);
    struct rtattr *info = nl_attr(&m, IFLA_LINKINFO, 0, 0);
    nl_attr(&m, IFLA_INFO_KIND, "veth", 4);
    struct rtattr *data = nl_attr(&m, IFLA_INFO_DATA, 0, 0);
    struct rtattr *peer = nl_attr(&m, VETH_INFO_PEER, &ifi, sizeof ifi);
    nl_attr(&m, IFLA_IFNAME, peer_name, strlen(peer_name) + 1);
    uint32_t pid = (uint32_t)peer_pid;
    struct rtattr *last = nl_attr(&m, IFLA_NET_NS_PID, &pid, sizeof pid);
    if (!info || !data || !peer || !last) { errno = EMSGSIZE; return -1; }
    nl_nest_end(&m, peer);
    nl_nest_end(&m, data);
    nl_nest_end(&m, info);
    if (nl_talk(sk, &m) < 0) return -1;

    /* The alias (the ownership label) is a property of an existing link: set it right away. */
    int index = clvm_nl_ifindex(host_name);
    if (index < 0) return -1;
    memset(&ifi, 0, sizeof ifi);
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_index = index;
    nl_begin(&m, RTM_NEWLINK, 0, &ifi, sizeof ifi);
    if (!nl_attr(&m, IFLA_IFALIAS, alias, strlen(alias))) { errno = EMSGSIZE; return -1; }
    return nl_talk(sk, &m);
}

int clvm_nl_addr_add(int sk, int ifindex, uint32_t addr, uint8_t prefix_len) {
    struct nl_msg m;
    struct ifaddrmsg ifa;
    memset(&ifa, 0, sizeof ifa);
    ifa.ifa_family = AF_INET;
    ifa.ifa_prefixlen = prefix_len;
    ifa.ifa_scope = RT_SCOPE_UNIVERSE;
    ifa.ifa_index = (uint32_t)ifindex;
    nl_begin(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
    nl_attr(&m, IFA_LOCAL, &addr, sizeof addr);
    nl_attr(&m, IFA_ADDRESS, &addr, sizeof addr);
    return nl_talk(sk, &m);
}

int clvm_nl_link_up(int sk, int ifindex) {
    struct nl_msg m;
    struct ifinfomsg ifi;
    memset(&ifi, 0, sizeof ifi);
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_index = ifindex;
    ifi.ifi_flags = IFF_UP;
    ifi.ifi_change = IFF_UP;
    nl_begin(&m, RTM_NEWLINK, 0, &ifi, sizeof ifi);
    return nl_talk(sk, &m);
}

int clvm_nl_route_add(int sk, int ifindex, uint32_t dst, uint8_t dst_len, uint32_t gateway) {
    struct nl_msg m;
    struct rtmsg rt;
    memset(&rt, 0, sizeof rt);
    rt.rtm_family = AF_INET;
    rt.rtm_table = RT_TABLE_MAIN;
    rt.rtm_protocol = RTPROT_BOOT;
    rt.rtm_scope = RT_SCOPE_UNIVERSE;
    rt.rtm_type = RTN_UNICAST;
    rt.rtm_dst_len = dst_len;
    nl_begin(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
    if (dst_len) nl_attr(&m, RTA_DST, &dst, sizeof dst);
    nl_attr(&m, RTA_GATEWAY, &gateway, sizeof gateway);
    uint32_t oif = (uint32_t)ifindex;
    nl_attr(&m, RTA_OIF, &oif, sizeof oif);
    return nl_talk(sk, &m);
}

int clvm_link_delete(const char *name) {
    if (strlen(name) >= IFNAMSIZ) { errno = ENAMETOOLONG; return -1; }
    int sk = clvm_nl_open();
    if (sk < 0) return -1;
    struct nl_msg m;
    struct ifinfomsg ifi;
    memset(&ifi, 0, sizeof ifi);
    ifi.ifi_family = AF_UNSPEC;
    nl_begin(&m, RTM_DELLINK, 0, &ifi, sizeof ifi);
    nl_attr(&m, IFLA_IFNAME, name, strlen(name) + 1);
    int rc = nl_talk(sk, &m);
    int saved = errno;
    close(sk);
    if (rc == 0) return 0;
    if (saved == ENODEV) return 1;
    errno = saved;
    return -1;
}
