// Opening and loading the BPF object. Maps declare LIBBPF_PIN_BY_NAME, so with pin_root_path set libbpf reuses
// maps already pinned there (agent restart, or the other hook's build) and pins new ones: that is what keeps the
// flow table across restarts.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>
#include <map>
#include <vector>

#include "common.h"

namespace plb {

static std::map<uint32_t, bpf_object*> gObjects;
static uint32_t gNextHandle = 1;

// A map pinned by an earlier agent that libbpf cannot reuse (another size or layout: spec.xdp.maxFlows changed,
// or an upgrade changed a struct) makes bpf_object__load fail. Such a pin is removed so that load creates the map
// anew; the caller is told which, because the state in it (flows, counters) is gone.
static bool pinnedMapDiffers(bpf_map* map) {
  const char* pin = bpf_map__pin_path(map);
  if (!pin) return false;
  int fd = bpf_obj_get(pin);
  if (fd < 0) return false;
  bpf_map_info info = {};
  uint32_t len = sizeof(info);
  bool differs = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
                 (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
                  info.value_size != bpf_map__value_size(map) || info.max_entries != bpf_map__max_entries(map) ||
                  info.map_flags != bpf_map__map_flags(map));
  close(fd);
  return differs;
}

// openObject(path, pinRoot, maxEntries?: { mapName: n }) -> { handle, programFd, programName, maps: { name: fd },
// replacedPins: [name] }
static Napi::Value OpenObject(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = strArg(info, 0, "path");
  std::string pinRoot = strArg(info, 1, "pinRoot");
  resetLibbpfLog();
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pinRoot.c_str());
  bpf_object* obj = bpf_object__open_file(path.c_str(), &opts);
  if (!obj) throwErrno(env, "open " + path + " failed; " + libbpfLog(), errno);
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object sizes = info[2].As<Napi::Object>();
    Napi::Array names = sizes.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); i++) {
      std::string name = names.Get(i).As<Napi::String>().Utf8Value();
      bpf_map* map = bpf_object__find_map_by_name(obj, name.c_str());
      int rc = map ? bpf_map__set_max_entries(map, sizes.Get(name).As<Napi::Number>().Uint32Value()) : -ENOENT;
      if (rc < 0) {
        bpf_object__close(obj);
        throwErrno(env, "set max_entries of map " + name, rc);
      }
    }
  }
  Napi::Array replaced = Napi::Array::New(env);
  bpf_map* pinned;
  bpf_object__for_each_map(pinned, obj) {
    if (pinnedMapDiffers(pinned) && unlink(bpf_map__pin_path(pinned)) == 0) {
      replaced.Set(replaced.Length(), bpf_map__name(pinned));
    }
  }
  int err = bpf_object__load(obj);
  if (err) {
    std::string log = libbpfLog();
    bpf_object__close(obj);
    throwErrno(env, "load " + path + " failed; " + log, err);
  }
  bpf_program* prog = bpf_object__next_program(obj, nullptr);
  if (!prog) {
    bpf_object__close(obj);
    throwErrno(env, path + " has no program", ENOENT);
  }
  uint32_t handle = gNextHandle++;
  gObjects[handle] = obj;
  Napi::Object result = Napi::Object::New(env);
  result.Set("handle", handle);
  result.Set("programFd", bpf_program__fd(prog));
  result.Set("programName", bpf_program__name(prog));
  Napi::Object maps = Napi::Object::New(env);
  bpf_map* map;
  bpf_object__for_each_map(map, obj) maps.Set(bpf_map__name(map), bpf_map__fd(map));
  result.Set("maps", maps);
  result.Set("replacedPins", replaced);
  return result;
}

// closeObject(handle): closes our fds; pinned maps and attached programs stay in the kernel.
static Napi::Value CloseObject(const Napi::CallbackInfo& info) {
  auto it = gObjects.find(u32Arg(info, 0, "handle"));
  if (it != gObjects.end()) {
    bpf_object__close(it->second);
    gObjects.erase(it);
  }
  return info.Env().Undefined();
}

static bpf_prog_info programInfo(Napi::Env env, int fd) {
  bpf_prog_info progInfo = {};
  uint32_t len = sizeof(progInfo);
  check(env, bpf_obj_get_info_by_fd(fd, &progInfo, &len), "bpf_obj_get_info_by_fd");
  return progInfo;
}

static Napi::Value ProgramId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), programInfo(info.Env(), i32Arg(info, 0, "fd")).id);
}

// testRun(programFd, packet, ifindex) -> { retval, packet }: BPF_PROG_TEST_RUN of the TC or the XDP program on
// one frame, as if it arrived on `ifindex` (route lookups use the caller's network namespace; XDP uses the
// device's rx queue 0). For golden packet tests.
static Napi::Value TestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = i32Arg(info, 0, "programFd");
  auto in = bufArg(info, 1, "packet");
  uint32_t ifindex = u32Arg(info, 2, "ifindex");
  std::vector<uint8_t> out(in.Length() + 512);
  struct __sk_buff skb = {};
  struct xdp_md xdp = {};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.Data(), .data_out = out.data(),
              .data_size_in = static_cast<uint32_t>(in.Length()), .data_size_out = static_cast<uint32_t>(out.size()),
              .repeat = 1);
  if (programInfo(env, fd).type == BPF_PROG_TYPE_XDP) {
    xdp.data_end = static_cast<uint32_t>(in.Length());
    xdp.ingress_ifindex = ifindex;
    opts.ctx_in = &xdp;
    opts.ctx_size_in = sizeof(xdp);
  } else {
    skb.ifindex = ifindex;
    skb.ingress_ifindex = ifindex;
    opts.ctx_in = &skb;
    opts.ctx_size_in = sizeof(skb);
  }
  check(env, bpf_prog_test_run_opts(fd, &opts), "bpf_prog_test_run_opts");
  Napi::Object result = Napi::Object::New(env);
  result.Set("retval", opts.retval);
  result.Set("packet", Napi::Buffer<uint8_t>::Copy(env, out.data(), opts.data_size_out));
  return result;
}

static Napi::Value PossibleCpus(const Napi::CallbackInfo& info) {
  int n = libbpf_num_possible_cpus();
  check(info.Env(), n, "libbpf_num_possible_cpus");
  return Napi::Number::New(info.Env(), n);
}

void initObject(Napi::Env env, Napi::Object exports) {
  exports.Set("openObject", Napi::Function::New(env, OpenObject));
  exports.Set("closeObject", Napi::Function::New(env, CloseObject));
  exports.Set("programId", Napi::Function::New(env, ProgramId));
  exports.Set("possibleCpus", Napi::Function::New(env, PossibleCpus));
  exports.Set("testRun", Napi::Function::New(env, TestRun));
}

}  // namespace plb
