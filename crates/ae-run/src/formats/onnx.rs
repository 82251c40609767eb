//! `--format onnx`: the model (or its encoder or decoder) as one ONNX file, for onnxruntime and
//! every runtime that reads ONNX. The run's normalisation is built into the graph: the file takes
//! inputs as `ae` reads them (images in [0, 1], table and array values as stored) and gives
//! reconstructions in the same units.

use std::path::Path;

use ae_core::graph::{Graph, Node, Op};
use ae_data::{Normalization, Normalize};

use super::{ExportFormat, ExportSource, Written};
use crate::error::RunError;

/// ONNX, opset 17.
pub struct Onnx;

impl ExportFormat for Onnx {
    fn name(&self) -> &'static str {
        "onnx"
    }

    fn describe(&self) -> &'static str {
        "an ONNX model (opset 17) for onnxruntime and other ONNX runtimes"
    }

    fn export(&self, src: &ExportSource<'_>, out: &Path) -> Result<Written, RunError> {
        let mut g = Graph::new();
        if !src.run.model.export_graph(src.part, &mut g)? {
            return Err(RunError::Inconsistent {
                field: "model",
                reason: format!(
                    "a {} model has parts with no ONNX graph; expected a dense or convolutional body",
                    src.run.config.model.kind()
                ),
            });
        }
        let normalised = match src.normalization {
            Some(n) if n.kind != Normalize::None => {
                build_in(&mut g, n)?;
                format!("; the {} normalisation is built into the graph", n.kind)
            }
            _ => String::new(),
        };
        let metadata = vec![
            ("ae.kind".to_string(), src.run.config.model.kind().to_string()),
            ("ae.part".to_string(), src.part.to_string()),
            ("ae.weights".to_string(), src.run.weights_file.display().to_string()),
            ("ae.normalization".to_string(), src.normalization.map_or(Normalize::None, |n| n.kind).to_string()),
        ];
        let doc = format!("ae {} ({}), {}", src.part, src.run.config.model.kind(), signature(&g));
        let bytes = crate::onnx::to_bytes(&g, &doc, &metadata);
        ae_train::checkpoint::atomic_write(out, &bytes)?;
        Ok(Written {
            files: vec![out.to_path_buf()],
            summary: format!("the {}, {}{normalised}", src.part, signature(&g)),
        })
    }
}

/// `input (batch, 784) -> code (batch, 16)`.
fn signature(g: &Graph) -> String {
    let ports = |ports: &[ae_core::graph::Port]| {
        let named: Vec<String> = ports
            .iter()
            .map(|p| {
                let dims: Vec<String> = p.dims.iter().map(usize::to_string).collect();
                format!("{} (batch, {})", p.name, dims.join(", "))
            })
            .collect();
        named.join(", ")
    };
    format!("{} -> {}", ports(&g.inputs), ports(&g.outputs))
}

/// Puts `(x - offset) / scale` before the graph's `input` (missing cells filled first where the
/// run fills them) and `y * scale + offset` after its `reconstruction`, so the file works in
/// data units.
fn build_in(g: &mut Graph, n: &Normalization) -> Result<(), RunError> {
    let shape = g.inputs.iter().chain(&g.outputs).find(|p| p.name == "input" || p.name == "reconstruction");
    let Some(dims) = shape.map(|p| p.dims.clone()) else { return Ok(()) };
    let size: usize = dims.iter().product();
    if n.offset.len() != size || n.scale.len() != size {
        return Err(RunError::Inconsistent {
            field: "normalization",
            reason: format!(
                "{} offsets and {} scales for inputs of {size} values; expected the run's own normalization.json",
                n.offset.len(),
                n.scale.len()
            ),
        });
    }
    let offset = g.constant("normalization.offset", &dims, n.offset.clone());
    let scale = g.constant("normalization.scale", &dims, n.scale.clone());
    if g.inputs.iter().any(|p| p.name == "input") {
        rename_inside(g, "input", "input.normalised");
        let mut first = Vec::new();
        let mut x = "input".to_string();
        if n.fill.len() == size {
            // `--missing mean`: a missing (NaN) cell becomes the training rows' mean first.
            let fill = g.constant("normalization.fill", &dims, n.fill.clone());
            first.push(Node { op: Op::FillNan, inputs: vec![x, fill], output: "input.filled".into() });
            x = "input.filled".into();
        }
        first.push(Node { op: Op::Sub, inputs: vec![x, offset.clone()], output: "input.centred".into() });
        first.push(Node {
            op: Op::Div,
            inputs: vec!["input.centred".into(), scale.clone()],
            output: "input.normalised".into(),
        });
        g.prepend(first);
    }
    if g.outputs.iter().any(|p| p.name == "reconstruction") {
        rename_inside(g, "reconstruction", "reconstruction.normalised");
        let widen = Node {
            op: Op::Mul,
            inputs: vec!["reconstruction.normalised".into(), scale],
            output: "reconstruction.scaled".into(),
        };
        let shift =
            Node { op: Op::Add, inputs: vec!["reconstruction.scaled".into(), offset], output: "reconstruction".into() };
        g.nodes.extend([widen, shift]);
    }
    Ok(())
}

/// Renames value `from` in the nodes only, keeping the graph's port of that name.
fn rename_inside(g: &mut Graph, from: &str, to: &str) {
    let ports = (g.inputs.clone(), g.outputs.clone());
    g.rename(from, to);
    (g.inputs, g.outputs) = ports;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normalisation_wraps_the_input_and_the_reconstruction() {
        let mut g = Graph::new();
        let x = g.input("input", &[2]);
        let y = g.node(Op::Activation(ae_core::Activation::Relu), &[&x]);
        g.output(&y, "reconstruction", &[2]);
        let n = Normalization { kind: Normalize::Minmax, offset: vec![1.0, 2.0], scale: vec![3.0, 4.0], fill: vec![] };
        build_in(&mut g, &n).unwrap();
        let steps: Vec<(&Op, &str, &str)> =
            g.nodes.iter().map(|n| (&n.op, n.inputs[0].as_str(), n.output.as_str())).collect();
        assert_eq!(
            steps,
            [
                (&Op::Sub, "input", "input.centred"),
                (&Op::Div, "input.centred", "input.normalised"),
                (&Op::Activation(ae_core::Activation::Relu), "input.normalised", "reconstruction.normalised"),
                (&Op::Mul, "reconstruction.normalised", "reconstruction.scaled"),
                (&Op::Add, "reconstruction.scaled", "reconstruction"),
            ]
        );
        assert_eq!((g.inputs[0].name.as_str(), g.outputs[0].name.as_str()), ("input", "reconstruction"));
        let wrong = Normalization { offset: vec![0.0; 3], ..n };
        assert!(build_in(&mut g, &wrong).unwrap_err().to_string().contains("3 offsets and 2 scales"));
    }
}
