// Attaching the program to a device: TC ingress (clsact + cls_bpf direct-action) or XDP (native/generic).
// Re-attaching replaces the program atomically, so a restarted agent swaps its fresh program in without a gap.
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

#include "common.h"

namespace plb {

// A fixed handle/priority identifies our filter among others on the same hook; priority 1 runs it first.
static const uint32_t kTcHandle = 0x504c;  // "PL"
static const uint32_t kTcPriority = 1;

static uint32_t xdpFlags(Napi::Env env, const std::string& mode) {
  if (mode == "native") return XDP_FLAGS_DRV_MODE;
  if (mode == "generic") return XDP_FLAGS_SKB_MODE;
  throw Napi::TypeError::New(env, "xdp mode must be native or generic, got " + mode);
}

// tcAttach(ifindex, programFd)
static Napi::Value TcAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(u32Arg(info, 0, "ifindex")),
              .attach_point = BPF_TC_INGRESS);
  int err = bpf_tc_hook_create(&hook);
  if (err && err != -EEXIST) throwErrno(env, "create clsact qdisc", err);
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = i32Arg(info, 1, "programFd"), .flags = BPF_TC_F_REPLACE,
              .handle = kTcHandle, .priority = kTcPriority);
  check(env, bpf_tc_attach(&hook, &opts), "attach tc ingress filter");
  return Napi::Number::New(env, opts.prog_id);
}

// tcDetach(ifindex): removes our filter only; the clsact qdisc may carry other filters and stays.
static Napi::Value TcDetach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(u32Arg(info, 0, "ifindex")),
              .attach_point = BPF_TC_INGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
  int err = bpf_tc_detach(&hook, &opts);
  if (err && err != -ENOENT && err != -EINVAL) throwErrno(env, "detach tc ingress filter", err);
  return Napi::Boolean::New(env, err == 0);
}

// tcQuery(ifindex) -> program id of our filter, 0 if absent
static Napi::Value TcQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(u32Arg(info, 0, "ifindex")),
              .attach_point = BPF_TC_INGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
  int err = bpf_tc_query(&hook, &opts);
  if (err == -ENOENT || err == -EINVAL) return Napi::Number::New(env, 0);
  check(env, err, "query tc ingress filter");
  return Napi::Number::New(env, opts.prog_id);
}

// xdpAttach(ifindex, programFd, "native" | "generic")
static Napi::Value XdpAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t flags = xdpFlags(env, strArg(info, 2, "mode"));
  check(env, bpf_xdp_attach(static_cast<int>(u32Arg(info, 0, "ifindex")), i32Arg(info, 1, "programFd"), flags, nullptr),
        "attach xdp (" + strArg(info, 2, "mode") + ")");
  return env.Undefined();
}

// xdpDetach(ifindex, "native" | "generic")
static Napi::Value XdpDetach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t flags = xdpFlags(env, strArg(info, 1, "mode"));
  int err = bpf_xdp_detach(static_cast<int>(u32Arg(info, 0, "ifindex")), flags, nullptr);
  if (err && err != -ENOENT) throwErrno(env, "detach xdp", err);
  return env.Undefined();
}

// xdpQuery(ifindex) -> { nativeProgramId, genericProgramId }
static Napi::Value XdpQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LIBBPF_OPTS(bpf_xdp_query_opts, opts);
  check(env, bpf_xdp_query(static_cast<int>(u32Arg(info, 0, "ifindex")), 0, &opts), "query xdp");
  Napi::Object result = Napi::Object::New(env);
  result.Set("nativeProgramId", opts.drv_prog_id);
  result.Set("genericProgramId", opts.skb_prog_id);
  return result;
}

static Napi::Value IfIndex(const Napi::CallbackInfo& info) {
  std::string name = strArg(info, 0, "name");
  unsigned idx = if_nametoindex(name.c_str());
  if (idx == 0) throwErrno(info.Env(), "interface " + name, errno);
  return Napi::Number::New(info.Env(), idx);
}

void initAttach(Napi::Env env, Napi::Object exports) {
  exports.Set("tcAttach", Napi::Function::New(env, TcAttach));
  exports.Set("tcDetach", Napi::Function::New(env, TcDetach));
  exports.Set("tcQuery", Napi::Function::New(env, TcQuery));
  exports.Set("xdpAttach", Napi::Function::New(env, XdpAttach));
  exports.Set("xdpDetach", Napi::Function::New(env, XdpDetach));
  exports.Set("xdpQuery", Napi::Function::New(env, XdpQuery));
  exports.Set("ifIndex", Napi::Function::New(env, IfIndex));
}

}  // namespace plb
