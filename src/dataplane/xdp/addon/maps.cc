// Map access by fd with keys and values as Buffers; TypeScript owns the byte layouts (layout.ts).
#include <bpf/bpf.h>
#include <vector>

#include "common.h"

namespace plb {

// mapUpdate(fd, key, value, flags)
static Napi::Value MapUpdate(const Napi::CallbackInfo& info) {
  auto key = bufArg(info, 1, "key");
  auto value = bufArg(info, 2, "value");
  if (bpf_map_update_elem(i32Arg(info, 0, "fd"), key.Data(), value.Data(), u32Arg(info, 3, "flags")))
    throwErrno(info.Env(), "bpf_map_update_elem", errno);
  return info.Env().Undefined();
}

// mapLookup(fd, key, valueSize) -> Buffer | null. valueSize includes all CPUs for per-CPU maps.
static Napi::Value MapLookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto key = bufArg(info, 1, "key");
  auto value = Napi::Buffer<uint8_t>::New(env, u32Arg(info, 2, "valueSize"));
  if (bpf_map_lookup_elem(i32Arg(info, 0, "fd"), key.Data(), value.Data())) {
    if (errno == ENOENT) return env.Null();
    throwErrno(env, "bpf_map_lookup_elem", errno);
  }
  return value;
}

// mapDelete(fd, key) -> whether it existed
static Napi::Value MapDelete(const Napi::CallbackInfo& info) {
  auto key = bufArg(info, 1, "key");
  if (bpf_map_delete_elem(i32Arg(info, 0, "fd"), key.Data())) {
    if (errno == ENOENT) return Napi::Boolean::New(info.Env(), false);
    throwErrno(info.Env(), "bpf_map_delete_elem", errno);
  }
  return Napi::Boolean::New(info.Env(), true);
}

// mapKeys(fd, keySize) -> Buffer[]: all keys of a hash map (small maps only: services).
static Napi::Value MapKeys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = i32Arg(info, 0, "fd");
  uint32_t keySize = u32Arg(info, 1, "keySize");
  std::vector<uint8_t> cur(keySize), next(keySize);
  Napi::Array keys = Napi::Array::New(env);
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
    keys.Set(keys.Length(), Napi::Buffer<uint8_t>::Copy(env, next.data(), keySize));
    cur.swap(next);
    prev = cur.data();
  }
  if (errno != ENOENT) throwErrno(env, "bpf_map_get_next_key", errno);
  return keys;
}

// arrayWrite(fd, firstIndex, values, valueSize): one batch syscall for a run of array slots (a Maglev ring).
static Napi::Value ArrayWrite(const Napi::CallbackInfo& info) {
  int fd = i32Arg(info, 0, "fd");
  uint32_t first = u32Arg(info, 1, "firstIndex");
  auto values = bufArg(info, 2, "values");
  uint32_t valueSize = u32Arg(info, 3, "valueSize");
  uint32_t count = values.Length() / valueSize;
  std::vector<uint32_t> keys(count);
  for (uint32_t i = 0; i < count; i++) keys[i] = first + i;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  uint32_t done = count;
  if (bpf_map_update_batch(fd, keys.data(), values.Data(), &done, &opts))
    throwErrno(info.Env(), "bpf_map_update_batch", errno);
  return info.Env().Undefined();
}

// arrayRead(fd, firstIndex, count, valueSize) -> Buffer
static Napi::Value ArrayRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = i32Arg(info, 0, "fd");
  uint32_t first = u32Arg(info, 1, "firstIndex");
  uint32_t count = u32Arg(info, 2, "count");
  uint32_t valueSize = u32Arg(info, 3, "valueSize");
  auto out = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(count) * valueSize);
  for (uint32_t i = 0; i < count; i++) {
    uint32_t key = first + i;
    if (bpf_map_lookup_elem(fd, &key, out.Data() + static_cast<size_t>(i) * valueSize))
      throwErrno(env, "bpf_map_lookup_elem", errno);
  }
  return out;
}

void initMaps(Napi::Env env, Napi::Object exports) {
  exports.Set("mapUpdate", Napi::Function::New(env, MapUpdate));
  exports.Set("mapLookup", Napi::Function::New(env, MapLookup));
  exports.Set("mapDelete", Napi::Function::New(env, MapDelete));
  exports.Set("mapKeys", Napi::Function::New(env, MapKeys));
  exports.Set("arrayWrite", Napi::Function::New(env, ArrayWrite));
  exports.Set("arrayRead", Napi::Function::New(env, ArrayRead));
}

}  // namespace plb
