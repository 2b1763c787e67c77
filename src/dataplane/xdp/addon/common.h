// Shared helpers of the addon: argument decoding and errors that carry errno and libbpf's own log.
#pragma once

#include <napi.h>
#include <cerrno>
#include <cstring>
#include <string>

namespace plb {

// libbpf reports why a load failed (verifier log, incompatible pinned map) through its print callback;
// the last lines are kept so the JS error can say it instead of a bare EINVAL.
void resetLibbpfLog();
std::string libbpfLog();

[[noreturn]] inline void throwErrno(Napi::Env env, const std::string& what, int err) {
  if (err < 0) err = -err;
  Napi::Error e = Napi::Error::New(env, what + ": " + std::strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  throw e;
}

// libbpf 1.x (strict mode) returns -errno from every call and also sets errno: one check for all of them.
inline void check(Napi::Env env, int rc, const std::string& what) {
  if (rc < 0) throwErrno(env, what, rc);
}

inline uint32_t u32Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().Uint32Value();
}

inline int32_t i32Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().Int32Value();
}

inline std::string strArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsString())
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

inline Napi::Buffer<uint8_t> bufArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsBuffer())
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Buffer");
  return info[i].As<Napi::Buffer<uint8_t>>();
}

// A map's key size and the bytes one lookup writes (all CPUs' copies for per-CPU maps), from the kernel.
struct MapShape {
  uint32_t keySize;
  uint32_t valueSize;
};
MapShape mapShape(Napi::Env env, int fd);

void initObject(Napi::Env env, Napi::Object exports);
void initAttach(Napi::Env env, Napi::Object exports);
void initMaps(Napi::Env env, Napi::Object exports);

}  // namespace plb
