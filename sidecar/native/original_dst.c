// N-API addon: the original destination of a REDIRECTed TCP socket (SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST).
//
// getOriginalDst(fd) -> { address, port, family: 'IPv4' | 'IPv6' } | null (no NAT entry), throws on
// other errors with the errno text. IPv4 sockets and IPv4-mapped IPv6 sockets ask the IPv4
// conntrack table (SOL_IP); native IPv6 sockets ask SOL_IPV6.

#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* linux/netfilter_ipv4.h */
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80 /* linux/netfilter_ipv6/ip6_tables.h */
#endif

#define CHECK(env, call)                                         \
  do {                                                           \
    if ((call) != napi_ok) {                                     \
      napi_throw_error((env), "FERRY_ERR_NATIVE", #call " failed"); \
      return NULL;                                               \
    }                                                            \
  } while (0)

static napi_value throw_errno(napi_env env, const char* what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s (errno %d)", what, strerror(err), err);
  napi_throw_error(env, "FERRY_ERR_ORIGINAL_DST", msg);
  return NULL;
}

static napi_value make_result(napi_env env, const char* address, int port, const char* family) {
  napi_value obj, v;
  CHECK(env, napi_create_object(env, &obj));
  CHECK(env, napi_create_string_utf8(env, address, NAPI_AUTO_LENGTH, &v));
  CHECK(env, napi_set_named_property(env, obj, "address", v));
  CHECK(env, napi_create_int32(env, port, &v));
  CHECK(env, napi_set_named_property(env, obj, "port", v));
  CHECK(env, napi_create_string_utf8(env, family, NAPI_AUTO_LENGTH, &v));
  CHECK(env, napi_set_named_property(env, obj, "family", v));
  return obj;
}

static napi_value get_original_dst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "FERRY_ERR_ORIGINAL_DST", "getOriginalDst(fd): fd must be a non-negative integer");
    return NULL;
  }

  struct sockaddr_storage local;
  socklen_t len = sizeof local;
  if (getsockname(fd, (struct sockaddr*)&local, &len) != 0) return throw_errno(env, "getsockname", errno);

  int use_v4 = local.ss_family == AF_INET ||
               (local.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6*)&local)->sin6_addr));
  if (!use_v4 && local.ss_family != AF_INET6) {
    napi_throw_error(env, "FERRY_ERR_ORIGINAL_DST", "getOriginalDst: not an IP socket");
    return NULL;
  }

  napi_value null_value;
  CHECK(env, napi_get_null(env, &null_value));
  char text[INET6_ADDRSTRLEN];
  if (use_v4) {
    struct sockaddr_in dst;
    socklen_t dlen = sizeof dst;
    memset(&dst, 0, sizeof dst);
    if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &dlen) != 0) {
      if (errno == ENOENT) return null_value;
      return throw_errno(env, "getsockopt(SO_ORIGINAL_DST)", errno);
    }
    inet_ntop(AF_INET, &dst.sin_addr, text, sizeof text);
    return make_result(env, text, ntohs(dst.sin_port), "IPv4");
  }
  struct sockaddr_in6 dst6;
  socklen_t dlen6 = sizeof dst6;
  memset(&dst6, 0, sizeof dst6);
  if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &dst6, &dlen6) != 0) {
    if (errno == ENOENT) return null_value;
    return throw_errno(env, "getsockopt(IP6T_SO_ORIGINAL_DST)", errno);
  }
  inet_ntop(AF_INET6, &dst6.sin6_addr, text, sizeof text);
  return make_result(env, text, ntohs(dst6.sin6_port), "IPv6");
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  CHECK(env, napi_create_function(env, "getOriginalDst", NAPI_AUTO_LENGTH, get_original_dst, NULL, &fn));
  CHECK(env, napi_set_named_property(env, exports, "getOriginalDst", fn));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
