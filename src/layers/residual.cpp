// Residual block.
//   y = f(x) + P x
//   dL/dx = (∂f/∂x)^T dL/dy + P^T dL/dy
// The upstream gradient flows unchanged into both paths; their input gradients add.
#include "layers/residual.h"

#include "backend/ops.h"
#include "layers/registry.h"

namespace kiln {

Residual::Residual(Sequential body, std::unique_ptr<Conv2d> projection)
    : body_(std::move(body)), proj_(std::move(projection)) {}

// "residual [proj] { layer; ... }": the body is built for the block's input; a 1x1 projection
// (stride from the size ratio) joins the skip path when the body changes the shape, or when
// asked for.
LayerKind Residual::kind() {
  return {"residual", {}, "residual [proj] { layer; layer; ... }",
          [](SpecLine& s, const BuildContext& ctx) -> std::unique_ptr<Layer> {
            bool force_proj = false;
            if (s.has_positional()) {
              const std::string word = s.positional("'proj'");
              if (word != "proj") s.fail("unexpected argument '" + word + "' (expected 'proj' or the block)");
              force_proj = true;
            }
            Sequential body = ctx.build_block(s.block("the block's layers"));
            const Shape& in = ctx.input;
            const Shape out = body.output_shape(in);
            std::unique_ptr<Conv2d> proj;
            if (force_proj || out != in) {
              if (in.rank() != 4 || out.rank() != 4)
                s.fail("a projection skip needs image input and output, got " + in.str() + " -> " + out.str());
              proj = std::make_unique<Conv2d>(in[1], out[1], 1, 1, in[2] / out[2], 0, false);
            }
            return std::make_unique<Residual>(std::move(body), std::move(proj));
          }};
}

std::string Residual::spec() const { return std::string("residual") + (proj_ ? " proj" : "") + " { " + body_.spec() + " }"; }

Shape Residual::output_shape(const Shape& in) const {
  Shape out = body_.output_shape(in);
  Shape skip = proj_ ? proj_->output_shape(in) : in;
  if (out != skip)
    throw Error("residual: the body maps " + in.str() + " to " + out.str() + " but the skip path gives " +
                skip.str() + (proj_ ? "" : " (use 'residual proj { ... }' for a 1x1 projection)"));
  return out;
}

// f(x) is kept in its own buffer: the body's last layer may need its own output in backward
// (tanh, sigmoid), and y = f(x) + P x is not that.
void Residual::forward(const Tensor& x, Tensor& y, const Pass& pass) {
  fx_.ensure(y.shape(), x.device());
  body_.forward(x, fx_, pass);
  ops::copy(fx_, y);
  if (proj_) {
    skip_.ensure(y.shape(), x.device());
    proj_->forward(x, skip_, pass);
    ops::axpy(Real(1), skip_, y);
  } else {
    ops::axpy(Real(1), x, y);
  }
}

void Residual::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  body_.backward(x, fx_, dy, dx);
  if (proj_) {
    if (dx) {
      dskip_.ensure(x.shape(), x.device());
      proj_->backward(x, skip_, dy, &dskip_);
      ops::axpy(Real(1), dskip_, *dx);
    } else {
      proj_->backward(x, skip_, dy, nullptr);
    }
  } else if (dx) {
    ops::axpy(Real(1), dy, *dx);
  }
}

void Residual::init(Rng& rng) {
  body_.init(rng);
  if (proj_) proj_->init(rng);
}

int64_t Residual::forward_flops(const Shape& in) const {
  return body_.forward_flops(in) + (proj_ ? proj_->forward_flops(in) : 0) + body_.output_shape(in).numel();
}

std::vector<Layer*> Residual::children() {
  std::vector<Layer*> c{&body_};
  if (proj_) c.push_back(proj_.get());
  return c;
}

}  // namespace kiln
