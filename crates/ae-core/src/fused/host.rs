//! Access to CPU tensors as host slices: reading without copying, and writing in place through
//! candle's in-place op, so the fused path neither allocates nor copies parameters.

use std::cell::RefCell;

use candle_core::{CpuStorage, DType, Layout, Storage, StorageRef, Tensor};

/// A read guard over a contiguous f32 CPU tensor; `None` for any other tensor.
pub struct HostView<'a> {
    guard: StorageRef<'a>,
    start: usize,
    len: usize,
}

impl<'a> HostView<'a> {
    /// Views `t` if it is a contiguous f32 tensor on the CPU.
    pub fn of(t: &'a Tensor) -> Option<Self> {
        if t.dtype() != DType::F32 || !t.is_contiguous() {
            return None;
        }
        let (guard, layout) = t.storage_and_layout();
        let start = layout.start_offset();
        let len = t.elem_count();
        match &*guard {
            Storage::Cpu(CpuStorage::F32(v)) if v.len() >= start + len => Some(Self { guard, start, len }),
            _ => None,
        }
    }

    /// The values.
    pub fn as_slice(&self) -> &[f32] {
        match &*self.guard {
            Storage::Cpu(CpuStorage::F32(v)) => &v[self.start..self.start + self.len],
            _ => &[],
        }
    }
}

/// Runs `f` on the values of a contiguous f32 CPU tensor, in place. Returns false (and does
/// nothing) for any other tensor.
pub fn update_in_place(t: &Tensor, f: impl FnOnce(&mut [f32])) -> candle_core::Result<bool> {
    if t.dtype() != DType::F32 || !t.is_contiguous() || !t.device().is_cpu() {
        return Ok(false);
    }
    let op = InPlace { f: RefCell::new(Some(f)), len: t.elem_count() };
    t.inplace_op1(&op)?;
    Ok(true)
}

struct InPlace<F> {
    f: RefCell<Option<F>>,
    len: usize,
}

impl<F: FnOnce(&mut [f32])> candle_core::InplaceOp1 for InPlace<F> {
    fn name(&self) -> &'static str {
        "ae-in-place"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let CpuStorage::F32(v) = storage else { candle_core::bail!("ae-in-place: expected f32 storage") };
        let start = layout.start_offset();
        let Some(values) = v.get_mut(start..start + self.len) else {
            candle_core::bail!("ae-in-place: storage shorter than the tensor")
        };
        if let Some(f) = self.f.borrow_mut().take() {
            f(values);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn views_and_in_place_updates_touch_the_tensor_itself() {
        let v = Var::from_tensor(&Tensor::new(&[1f32, 2.0, 3.0], &Device::Cpu).unwrap()).unwrap();
        assert_eq!(HostView::of(v.as_tensor()).unwrap().as_slice(), [1.0, 2.0, 3.0]);
        assert!(update_in_place(v.as_tensor(), |x| x.iter_mut().for_each(|x| *x *= 10.0)).unwrap());
        assert_eq!(v.as_tensor().to_vec1::<f32>().unwrap(), [10.0, 20.0, 30.0]);
        let t = Tensor::new(&[[1f32, 2.0], [3.0, 4.0]], &Device::Cpu).unwrap().t().unwrap();
        assert!(HostView::of(&t).is_none(), "a transposed view is not contiguous");
        let narrow = Tensor::new(&[1f32, 2.0, 3.0, 4.0], &Device::Cpu).unwrap().narrow(0, 1, 2).unwrap();
        assert_eq!(HostView::of(&narrow).unwrap().as_slice(), [2.0, 3.0]);
    }
}
