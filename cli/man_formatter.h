// --help in the shape of a man page, shared by dropwatch and dropfilter:
// options grouped under headings, a placeholder per value, the default in the
// description, then the footer's EXAMPLES and EXIT STATUS.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

namespace dw::cli {

class ManFormatter : public CLI::Formatter {
 public:
  ManFormatter() { column_width(30); }
  // "--snaplen BYTES" instead of CLI11's "--snaplen UINT:UINT in [0 - 4096]=256".
  std::string make_option_opts(const CLI::Option* opt) const override {
    if (opt->get_type_size() == 0) return "";
    // CLI11 appends ":" and each validator's description; the placeholder
    // itself may hold a colon ("unix:PATH", "ADDR:PORT").
    std::string t = opt->get_type_name();
    auto* o = const_cast<CLI::Option*>(opt);  // the index accessor is not const
    for (int i = 0;; i++) {
      CLI::Validator* v;
      try {
        v = o->get_validator(i);
      } catch (const CLI::OptionNotFound&) {
        break;
      }
      std::string d = v->get_description();
      if (!d.empty() && t.ends_with(":" + d)) t.resize(t.size() - d.size() - 1);
    }
    return " " + t;
  }
  // Descriptions wrapped to 80 columns (CLI11 indents the continuation lines).
  std::string make_option_desc(const CLI::Option* opt) const override {
    return wrap(opt->get_description(), 78 - get_column_width(), 0);
  }

  static std::string wrap(const std::string& text, size_t width, size_t indent) {
    std::string out, line, word;
    auto flush_word = [&] {
      if (word.empty()) return;
      if (!line.empty() && line.size() + 1 + word.size() > width) {
        out += line + "\n" + std::string(indent, ' ');
        line.clear();
      }
      line += (line.empty() ? "" : " ") + word;
      word.clear();
    };
    for (char c : text) {
      if (c == ' ')
        flush_word();
      else
        word += c;
    }
    flush_word();
    return out + line;
  }
  std::string make_usage(const CLI::App* app, std::string name) const override {
    (void)app;
    return "Usage: " + name + " " + usage_ + "\n";
  }
  void set_usage(std::string u) { usage_ = std::move(u); }

 private:
  std::string usage_ = "[OPTIONS]";
};

inline std::shared_ptr<ManFormatter> install_formatter(CLI::App& app, std::string usage) {
  auto f = std::make_shared<ManFormatter>();
  f->set_usage(std::move(usage));
  app.formatter(f);
  app.set_help_flag("-h,--help", "Print this help and exit")->group("General");
  return f;
}

}  // namespace dw::cli
