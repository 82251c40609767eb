//! The shape and dtype check at every entry point of a model (encode, decode, embed,
//! reconstruct, loss, the fused step): the fused CPU paths read raw host slices, so a batch of the
//! wrong width would otherwise be misread row by row without an error, and an f64 batch would
//! fail deep inside candle.

use candle_core::{DType, Result, Tensor};

/// Checks that `xs` is an f32 `(batch, features)` matrix; `what` names it in the error
/// (`"encoder input"`). The errors are candle's typed ones: [`candle_core::Error::UnexpectedDType`]
/// and [`candle_core::Error::UnexpectedShape`], the latter naming the expected and given shapes.
pub fn expect_rows(xs: &Tensor, features: usize, what: &'static str) -> Result<()> {
    let dims = xs.dims();
    if dims.len() != 2 || dims[1] != features {
        let rows = dims.first().copied().unwrap_or(1);
        return Err(candle_core::Error::UnexpectedShape {
            msg: format!("wrong {what} shape"),
            expected: (rows, features).into(),
            got: xs.shape().clone(),
        });
    }
    if xs.dtype() != DType::F32 {
        return Err(candle_core::Error::UnexpectedDType { msg: what, expected: DType::F32, got: xs.dtype() });
    }
    Ok(())
}

/// [`expect_rows`] for both halves of a training or evaluation batch.
pub fn expect_batch(batch: &crate::Batch, features: usize) -> Result<()> {
    expect_rows(&batch.input, features, "batch input")?;
    expect_rows(&batch.target, features, "batch target")?;
    if batch.input.dim(0)? != batch.target.dim(0)? {
        return Err(candle_core::Error::UnexpectedShape {
            msg: "batch target rows differ from its input rows".into(),
            expected: batch.input.shape().clone(),
            got: batch.target.shape().clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn names_the_expected_and_the_given_shape_and_dtype() -> Result<()> {
        let dev = Device::Cpu;
        expect_rows(&Tensor::zeros((3, 20), DType::F32, &dev)?, 20, "input")?;
        let wide = expect_rows(&Tensor::zeros((3, 21), DType::F32, &dev)?, 20, "input").unwrap_err();
        assert_eq!(wide.to_string(), "wrong input shape, expected: [3, 20], got: [3, 21]");
        let flat = expect_rows(&Tensor::zeros(20, DType::F32, &dev)?, 20, "input").unwrap_err();
        assert!(flat.to_string().contains("got: [20]"), "{flat}");
        let f64s = expect_rows(&Tensor::zeros((3, 20), DType::F64, &dev)?, 20, "input").unwrap_err();
        assert_eq!(f64s.to_string(), "input, expected: F32, got: F64");
        Ok(())
    }
}
