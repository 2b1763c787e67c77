// Map access by fd with keys and values as Buffers; TypeScript owns the byte layouts (layout.ts). The kernel
// copies the map's own key and value sizes to and from these buffers, so every size the caller states is checked
// against the map first: a layout.ts out of step with the BPF object must be an exception, not a write past the
// end of a Buffer (heap corruption in node).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <algorithm>
#include <cstring>
#include <vector>

#include "common.h"

namespace plb {

static bool isPerCpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

MapShape mapShape(Napi::Env env, int fd) {
  bpf_map_info info = {};
  uint32_t len = sizeof(info);
  check(env, bpf_obj_get_info_by_fd(fd, &info, &len), "bpf_obj_get_info_by_fd (map)");
  MapShape shape{info.key_size, info.value_size};
  if (isPerCpu(info.type)) {
    int cpus = libbpf_num_possible_cpus();
    check(env, cpus, "libbpf_num_possible_cpus");
    shape.valueSize = ((info.value_size + 7) / 8 * 8) * static_cast<uint32_t>(cpus);
  }
  return shape;
}

static void expectSize(Napi::Env env, const char* what, size_t got, uint32_t want) {
  if (got != want) {
    throw Napi::RangeError::New(env, std::string(what) + " is " + std::to_string(got) + " bytes, the map's is " +
                                         std::to_string(want) + " (layout.ts out of step with the BPF object?)");
  }
}

// mapUpdate(fd, key, value, flags)
static Napi::Value MapUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = i32Arg(info, 0, "fd");
  auto key = bufArg(info, 1, "key");
  auto value = bufArg(info, 2, "value");
  MapShape shape = mapShape(env, fd);
  expectSize(env, "key", key.Length(), shape.keySize);
  expectSize(env, "value", value.Length(), shape.valueSize);
  check(env, bpf_map_update_elem(fd, key.Data(), value.Data(), u32Arg(info, 3, "flags")), "bpf_map_update_elem");
  return env.Undefined();
}

// mapLookup(fd, key, valueSize) -> Buffer | null. valueSize includes all CPUs for per-CPU maps.
static Napi::Value MapLookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = i32Arg(info, 0, "fd");
  auto key = bufArg(info, 1, "key");
  uint32_t valueSize = u32Arg(info, 2, "valueSize");
  MapShape shape = mapShape(env, fd);
  expectSize(env, "key", key.Length(), shape.keySize);
  expectSize(env, "valueSize", valueSize, shape.valueSize);
  auto value = Napi::Buffer<uint8_t>::New(env, valueSize);
  int rc = bpf_map_lookup_elem(fd, key.Data(), value.Data());
  if (rc == -ENOENT) return env.Null();
  check(env, rc, "bpf_map_lookup_elem");
  return value;
}

// mapDelete(fd, key) -> whether it existed
static Napi::Value MapDelete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = i32Arg(info, 0, "fd");
  auto key = bufArg(info, 1, "key");
  expectSize(env, "key", key.Length(), mapShape(env, fd).keySize);
  int rc = bpf_map_delete_elem(fd, key.Data());
  if (rc == -ENOENT) return Napi::Boolean::New(env, false);
  check(env, rc, "bpf_map_delete_elem");
  return Napi::Boolean::New(env, true);
}

// mapKeys(fd, keySize) -> Buffer[]: all keys of a hash map (small maps only: services).
static Napi::Value MapKeys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = i32Arg(info, 0, "fd");
  uint32_t keySize = u32Arg(info, 1, "keySize");
  expectSize(env, "keySize", keySize, mapShape(env, fd).keySize);
  std::vector<uint8_t> cur(keySize), next(keySize);
  Napi::Array keys = Napi::Array::New(env);
  const void* prev = nullptr;
  int rc;
  while ((rc = bpf_map_get_next_key(fd, prev, next.data())) == 0) {
    keys.Set(keys.Length(), Napi::Buffer<uint8_t>::Copy(env, next.data(), keySize));
    cur.swap(next);
    prev = cur.data();
  }
  if (rc != -ENOENT) check(env, rc, "bpf_map_get_next_key");
  return keys;
}

// arrayWrite(fd, firstIndex, values, valueSize): one batch syscall for a run of array slots (a Maglev ring).
static Napi::Value ArrayWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = i32Arg(info, 0, "fd");
  uint32_t first = u32Arg(info, 1, "firstIndex");
  auto values = bufArg(info, 2, "values");
  uint32_t valueSize = u32Arg(info, 3, "valueSize");
  MapShape shape = mapShape(env, fd);
  expectSize(env, "keySize of an array", sizeof(uint32_t), shape.keySize);
  expectSize(env, "valueSize", valueSize, shape.valueSize);
  if (values.Length() % valueSize != 0) {
    throw Napi::RangeError::New(env, "values is not a whole number of " + std::to_string(valueSize) + "-byte values");
  }
  uint32_t count = values.Length() / valueSize;
  std::vector<uint32_t> keys(count);
  for (uint32_t i = 0; i < count; i++) keys[i] = first + i;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  uint32_t done = count;
  check(env, bpf_map_update_batch(fd, keys.data(), values.Data(), &done, &opts), "bpf_map_update_batch");
  return env.Undefined();
}

// arrayRead(fd, firstIndex, count, valueSize) -> Buffer
static Napi::Value ArrayRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = i32Arg(info, 0, "fd");
  uint32_t first = u32Arg(info, 1, "firstIndex");
  uint32_t count = u32Arg(info, 2, "count");
  uint32_t valueSize = u32Arg(info, 3, "valueSize");
  MapShape shape = mapShape(env, fd);
  expectSize(env, "keySize of an array", sizeof(uint32_t), shape.keySize);
  expectSize(env, "valueSize", valueSize, shape.valueSize);
  auto out = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(count) * valueSize);
  if (count == 0) return out;
  // One syscall for the run (a 65537-slot ring is 65537 lookups otherwise). The batch starts after in_batch.
  std::vector<uint32_t> keys(count);
  uint32_t prev = first - 1, next = 0, done = count;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  int rc = bpf_map_lookup_batch(fd, first == 0 ? nullptr : &prev, &next, keys.data(), out.Data(), &done, &opts);
  // ENOENT: the run reached the array's end, which is fine if it got everything asked for. Anything else
  // (a kernel without batch ops, say) falls back to one lookup per slot, which reports its own errors.
  if ((rc == 0 || rc == -ENOENT) && done == count && keys[0] == first) return out;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t key = first + i;
    check(env, bpf_map_lookup_elem(fd, &key, out.Data() + static_cast<size_t>(i) * valueSize), "bpf_map_lookup_elem");
  }
  return out;
}

// mapBatch(fd, keySize, valueSize, cursor: Buffer | null, count) -> { keys, values, count, cursor: Buffer | null }:
// up to `count` entries of a hash map in one BPF_MAP_LOOKUP_BATCH; `cursor` null starts, a returned null cursor
// means the map is done. For walking the flow table (1 M entries: a syscall per entry would take seconds).
static Napi::Value MapBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = i32Arg(info, 0, "fd");
  uint32_t keySize = u32Arg(info, 1, "keySize");
  uint32_t valueSize = u32Arg(info, 2, "valueSize");
  uint32_t count = u32Arg(info, 4, "count");
  MapShape shape = mapShape(env, fd);
  expectSize(env, "keySize", keySize, shape.keySize);
  expectSize(env, "valueSize", valueSize, shape.valueSize);
  if (count == 0) throw Napi::RangeError::New(env, "count must be at least 1");
  // The batch token of a hash map is a bucket index (u32); 8 bytes leaves room for other map types.
  uint8_t in[8] = {}, out[8] = {};
  bool first = !(info.Length() > 3 && info[3].IsBuffer());
  if (!first) {
    auto cursor = info[3].As<Napi::Buffer<uint8_t>>();
    std::memcpy(in, cursor.Data(), std::min<size_t>(cursor.Length(), sizeof(in)));
  }
  auto keys = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(count) * keySize);
  auto values = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(count) * valueSize);
  uint32_t done = count;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  int rc = bpf_map_lookup_batch(fd, first ? nullptr : in, out, keys.Data(), values.Data(), &done, &opts);
  if (rc < 0 && rc != -ENOENT) check(env, rc, "bpf_map_lookup_batch");
  Napi::Object result = Napi::Object::New(env);
  result.Set("keys", keys);
  result.Set("values", values);
  result.Set("count", done);
  result.Set("cursor", rc == -ENOENT ? env.Null() : static_cast<Napi::Value>(Napi::Buffer<uint8_t>::Copy(env, out, sizeof(out))));
  return result;
}

// mapDeleteKeys(fd, keys: Buffer of n keys) -> how many existed. BPF_MAP_DELETE_BATCH deletes in the kernel in
// one call, but stops at the first missing key (the other entry of a flow deleted first, or one the LRU evicted)
// and says how many it deleted before it: such a key is skipped and the batch goes on after it.
static Napi::Value MapDeleteKeys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = i32Arg(info, 0, "fd");
  auto keys = bufArg(info, 1, "keys");
  uint32_t keySize = mapShape(env, fd).keySize;
  if (keys.Length() % keySize != 0) {
    throw Napi::RangeError::New(env, "keys is not a whole number of " + std::to_string(keySize) + "-byte keys");
  }
  uint32_t total = keys.Length() / keySize, at = 0, deleted = 0;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  while (at < total) {
    uint32_t count = total - at;
    int rc = bpf_map_delete_batch(fd, keys.Data() + static_cast<size_t>(at) * keySize, &count, &opts);
    deleted += count;
    at += count;
    if (rc == 0) break;
    if (rc != -ENOENT) check(env, rc, "bpf_map_delete_batch");
    at++;  // the missing key
  }
  return Napi::Number::New(env, deleted);
}

// mapUpdateBatch(fd, keys, values, flags): n concatenated keys and values in one BPF_MAP_UPDATE_BATCH.
static Napi::Value MapUpdateBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = i32Arg(info, 0, "fd");
  auto keys = bufArg(info, 1, "keys");
  auto values = bufArg(info, 2, "values");
  MapShape shape = mapShape(env, fd);
  if (keys.Length() % shape.keySize != 0 || values.Length() % shape.valueSize != 0 ||
      keys.Length() / shape.keySize != values.Length() / shape.valueSize) {
    throw Napi::RangeError::New(env, "keys and values are not the same number of whole keys and values of the map");
  }
  uint32_t count = keys.Length() / shape.keySize;
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = u32Arg(info, 3, "flags"));
  check(env, bpf_map_update_batch(fd, keys.Data(), values.Data(), &count, &opts), "bpf_map_update_batch");
  return env.Undefined();
}

void initMaps(Napi::Env env, Napi::Object exports) {
  exports.Set("mapUpdateBatch", Napi::Function::New(env, MapUpdateBatch));
  exports.Set("mapBatch", Napi::Function::New(env, MapBatch));
  exports.Set("mapDeleteKeys", Napi::Function::New(env, MapDeleteKeys));
  exports.Set("mapUpdate", Napi::Function::New(env, MapUpdate));
  exports.Set("mapLookup", Napi::Function::New(env, MapLookup));
  exports.Set("mapDelete", Napi::Function::New(env, MapDelete));
  exports.Set("mapKeys", Napi::Function::New(env, MapKeys));
  exports.Set("arrayWrite", Napi::Function::New(env, ArrayWrite));
  exports.Set("arrayRead", Napi::Function::New(env, ArrayRead));
}

}  // namespace plb
