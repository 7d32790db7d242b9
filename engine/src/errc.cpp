#include <systask/engine/errc.hpp>

#include <string>

namespace systask {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "systask"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::sync_already_running: return "a sync of this provider is already running";
    }
    return "unknown systask error";
  }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace systask
