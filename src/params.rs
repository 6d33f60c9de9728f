//! Checks on a module's parameters where weights enter (a pre-trained checkpoint, a run's best
//! model): values that are NaN or infinite (such a model trains to NaN or predicts garbage with
//! exit status 0), and shapes that changed on loading (a run folder whose `config.toml` or
//! `encoder/config.json` was edited would otherwise fail deep inside a matrix product).

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// The first parameter of `module` holding a NaN or infinite value: its module path and the
/// value.
pub fn first_non_finite<B: Backend, M: Module<B>>(module: &M) -> Option<(String, f32)> {
    walk(module, true).non_finite
}

/// Every float parameter's module path and shape, in visiting order.
pub fn param_shapes<B: Backend, M: Module<B>>(module: &M) -> Vec<(String, Vec<usize>)> {
    walk(module, false).shapes
}

/// The first parameter whose shape differs between `expected` and `loaded` (as
/// [`param_shapes`] lists them): `(path, expected shape, loaded shape)`.
pub fn first_shape_change(
    expected: &[(String, Vec<usize>)],
    loaded: &[(String, Vec<usize>)],
) -> Option<(String, Vec<usize>, Vec<usize>)> {
    expected
        .iter()
        .zip(loaded)
        .find(|(a, b)| a.1 != b.1)
        .map(|(a, b)| (a.0.clone(), a.1.clone(), b.1.clone()))
}

fn walk<B: Backend, M: Module<B>>(module: &M, check_values: bool) -> Walk {
    let mut visitor = Walk {
        check_values,
        ..Walk::default()
    };
    module.visit(&mut visitor);
    visitor
}

/// Visits every float parameter with its module path: records its shape and, when asked, the
/// first non-finite value (reading values back costs a copy of the weights).
#[derive(Default)]
struct Walk {
    check_values: bool,
    path: Vec<String>,
    shapes: Vec<(String, Vec<usize>)>,
    non_finite: Option<(String, f32)>,
}

impl<B: Backend> ModuleVisitor<B> for Walk {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let path = self.path.join(".");
        let tensor = param.val();
        self.shapes.push((path.clone(), tensor.dims().to_vec()));
        if !self.check_values || self.non_finite.is_some() {
            return;
        }
        let bad = tensor
            .into_data()
            .to_vec::<f32>()
            .ok()
            .and_then(|values| values.into_iter().find(|v| !v.is_finite()));
        if let Some(value) = bad {
            self.non_finite = Some((path, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;

    #[test]
    fn finds_the_parameter_with_a_nan() {
        let device = Default::default();
        let linear = LinearConfig::new(3, 2).init::<crate::backend::Cpu>(&device);
        assert_eq!(first_non_finite(&linear), None);
        let weight = linear
            .weight
            .val()
            .slice_assign([1..2, 0..1], Tensor::from_floats([[f32::NAN]], &device));
        let broken = burn::nn::Linear {
            weight: Param::from_tensor(weight),
            bias: linear.bias.clone(),
        };
        let (path, value) = first_non_finite(&broken).unwrap();
        assert!(value.is_nan());
        assert!(path.contains("weight"), "{path}");
    }

    #[test]
    fn names_the_parameter_whose_shape_changed() {
        let device = Default::default();
        let small = LinearConfig::new(3, 2).init::<crate::backend::Cpu>(&device);
        let large = LinearConfig::new(4, 2).init::<crate::backend::Cpu>(&device);
        let (a, b) = (param_shapes(&small), param_shapes(&large));
        assert_eq!(first_shape_change(&a, &a), None);
        let (path, expected, loaded) = first_shape_change(&a, &b).unwrap();
        assert!(path.contains("weight"), "{path}");
        assert_eq!((expected, loaded), (vec![3, 2], vec![4, 2]));
    }
}
