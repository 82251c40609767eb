//! ONNX files from [`ae_core::graph::Graph`]s: each graph step spelled in standard operators of
//! opset 17 (so onnxruntime, OpenCV's DNN module and TensorRT all read it), parameters stored as
//! initializers under their checkpoint names, the batch axis free. The protobuf is written by
//! `prost` from the schema's messages in [`proto`].

pub mod proto;

use ae_core::Activation;
use ae_core::graph::{Graph, Op};
use prost::Message;

use proto::{
    AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto, attribute_type, data_type,
};

/// The ONNX IR version written (ONNX 1.13 and later read it).
pub const IR_VERSION: i64 = 8;
/// The operator set the graph uses.
pub const OPSET: i64 = 17;

/// The ONNX file of `graph`, its doc string `doc` and `metadata` as the model's properties.
pub fn to_bytes(graph: &Graph, doc: &str, metadata: &[(String, String)]) -> Vec<u8> {
    model(graph, doc, metadata).encode_to_vec()
}

/// The `ModelProto` of `graph`.
pub fn model(graph: &Graph, doc: &str, metadata: &[(String, String)]) -> ModelProto {
    let mut low = Lowering::default();
    for c in &graph.constants {
        low.inits.push(float_tensor(&c.name, &c.dims, &c.values));
    }
    for node in &graph.nodes {
        let inputs: Vec<&str> = node.inputs.iter().map(String::as_str).collect();
        low.lower(&node.op, &inputs, &node.output);
    }
    let ports = |ports: &[ae_core::graph::Port]| ports.iter().map(|p| value_info(&p.name, &p.dims)).collect();
    ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(OPSET) }],
        producer_name: Some("ae".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        doc_string: Some(doc.into()),
        graph: Some(GraphProto {
            node: low.nodes,
            name: Some("ae".into()),
            initializer: low.inits,
            doc_string: Some(doc.into()),
            input: ports(&graph.inputs),
            output: ports(&graph.outputs),
        }),
        metadata_props: metadata
            .iter()
            .map(|(k, v)| StringStringEntryProto { key: Some(k.clone()), value: Some(v.clone()) })
            .collect(),
    }
}

/// A float tensor of type `(batch, dims...)`.
fn value_info(name: &str, dims: &[usize]) -> ValueInfoProto {
    let batch = Dimension { dim_value: None, dim_param: Some("batch".into()) };
    let dim = std::iter::once(batch)
        .chain(dims.iter().map(|&d| Dimension { dim_value: Some(d as i64), dim_param: None }))
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: Some(data_type::FLOAT),
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
        doc_string: None,
    }
}

fn float_tensor(name: &str, dims: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(data_type::FLOAT),
        name: Some(name.into()),
        raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
    }
}

fn int64_tensor(name: &str, values: &[i64]) -> TensorProto {
    TensorProto {
        dims: vec![values.len() as i64],
        data_type: Some(data_type::INT64),
        name: Some(name.into()),
        raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
    }
}

fn attr(name: &str) -> AttributeProto {
    AttributeProto { name: Some(name.into()), ..Default::default() }
}

fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto { ints: values.to_vec(), r#type: Some(attribute_type::INTS), ..attr(name) }
}

fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto { i: Some(value), r#type: Some(attribute_type::INT), ..attr(name) }
}

fn float(name: &str, value: f32) -> AttributeProto {
    AttributeProto { f: Some(value), r#type: Some(attribute_type::FLOAT), ..attr(name) }
}

fn string(name: &str, value: &str) -> AttributeProto {
    AttributeProto { s: Some(value.as_bytes().to_vec()), r#type: Some(attribute_type::STRING), ..attr(name) }
}

/// The nodes and initializers being written.
#[derive(Default)]
struct Lowering {
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    next: usize,
}

impl Lowering {
    /// A name no graph value has (graph values are `t<n>`, inputs, outputs and parameters).
    fn fresh(&mut self, what: &str) -> String {
        self.next += 1;
        format!("onnx.{what}.{}", self.next)
    }

    fn int64s(&mut self, what: &str, values: &[i64]) -> String {
        let name = self.fresh(what);
        self.inits.push(int64_tensor(&name, values));
        name
    }

    fn floats(&mut self, what: &str, dims: &[usize], values: &[f32]) -> String {
        let name = self.fresh(what);
        self.inits.push(float_tensor(&name, dims, values));
        name
    }

    fn node(&mut self, op: &str, inputs: &[&str], outputs: &[&str], attribute: Vec<AttributeProto>) {
        let name = format!("{op}_{}", self.nodes.len());
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            name: Some(name),
            op_type: Some(op.into()),
            attribute,
        });
    }

    /// A node writing a fresh value; its name.
    fn step(&mut self, op: &str, inputs: &[&str], attribute: Vec<AttributeProto>) -> String {
        let out = self.fresh(op);
        self.node(op, inputs, &[&out], attribute);
        out
    }

    /// `op` reading `x` and writing `out`, in standard operators.
    fn lower(&mut self, op: &Op, x: &[&str], out: &str) {
        match op {
            Op::Linear => self.node("Gemm", x, &[out], vec![int("transB", 1)]),
            Op::Conv { stride, padding } => {
                let (s, p) = (*stride as i64, *padding as i64);
                self.node("Conv", x, &[out], vec![ints("strides", &[s, s]), ints("pads", &[p, p, p, p])]);
            }
            Op::ConvTranspose { stride, padding, output_padding } => {
                let (s, p) = (*stride as i64, *padding as i64);
                let extra = [output_padding[0] as i64, output_padding[1] as i64];
                self.node(
                    "ConvTranspose",
                    x,
                    &[out],
                    vec![ints("strides", &[s, s]), ints("pads", &[p, p, p, p]), ints("output_padding", &extra)],
                );
            }
            Op::UpsampleNearest { factor } => {
                let f = *factor as f32;
                let scales = self.floats("scales", &[4], &[1.0, 1.0, f, f]);
                let attrs = vec![
                    string("mode", "nearest"),
                    string("coordinate_transformation_mode", "asymmetric"),
                    string("nearest_mode", "floor"),
                ];
                self.node("Resize", &[x[0], "", &scales], &[out], attrs);
            }
            Op::GroupNormalize { groups, eps } => {
                // Channels in groups as instance normalisation's channels, then the map's shape
                // back (GroupNormalization itself changed meaning between opsets 18 and 21).
                let shape = self.step("Shape", &[x[0]], vec![]);
                let grouped_shape = self.int64s("groups", &[0, *groups as i64, -1]);
                let grouped = self.step("Reshape", &[x[0], &grouped_shape], vec![]);
                let ones = self.floats("ones", &[*groups], &vec![1.0; *groups]);
                let zeros = self.floats("zeros", &[*groups], &vec![0.0; *groups]);
                let normed =
                    self.step("InstanceNormalization", &[&grouped, &ones, &zeros], vec![float("epsilon", *eps as f32)]);
                self.node("Reshape", &[&normed, &shape], &[out], vec![]);
            }
            Op::Activation(a) => self.activation(*a, x[0], out),
            Op::Reshape(dims) => {
                let shape: Vec<i64> = std::iter::once(0).chain(dims.iter().map(|&d| d as i64)).collect();
                let shape = self.int64s("shape", &shape);
                self.node("Reshape", &[x[0], &shape], &[out], vec![]);
            }
            Op::TopKRelu { k } => {
                let k = self.int64s("k", &[*k as i64]);
                let (values, indices) = (self.fresh("top_values"), self.fresh("top_indices"));
                let attrs = vec![int("axis", -1), int("largest", 1), int("sorted", 1)];
                self.node("TopK", &[x[0], &k], &[&values, &indices], attrs);
                let kept = self.step("Relu", &[&values], vec![]);
                let shape = self.step("Shape", &[x[0]], vec![]);
                let zeros = self.step("ConstantOfShape", &[&shape], vec![]);
                self.node("ScatterElements", &[&zeros, &indices, &kept], &[out], vec![int("axis", -1)]);
            }
            Op::FillNan => {
                let missing = self.step("IsNaN", &[x[0]], vec![]);
                self.node("Where", &[&missing, x[1], x[0]], &[out], vec![]);
            }
            Op::Add => self.node("Add", x, &[out], vec![]),
            Op::Sub => self.node("Sub", x, &[out], vec![]),
            Op::Mul => self.node("Mul", x, &[out], vec![]),
            Op::Div => self.node("Div", x, &[out], vec![]),
        }
    }

    fn activation(&mut self, a: Activation, x: &str, out: &str) {
        match a {
            Activation::Relu => self.node("Relu", &[x], &[out], vec![]),
            Activation::LeakyRelu => self.node("LeakyRelu", &[x], &[out], vec![float("alpha", 0.01)]),
            Activation::Tanh => self.node("Tanh", &[x], &[out], vec![]),
            Activation::Sigmoid => self.node("Sigmoid", &[x], &[out], vec![]),
            Activation::Gelu => {
                // x Φ(x) = x (1 + erf(x / √2)) / 2, the exact form (Gelu itself is opset 20).
                let root2 = self.floats("sqrt2", &[], &[std::f32::consts::SQRT_2]);
                let (one, half) = (self.floats("one", &[], &[1.0]), self.floats("half", &[], &[0.5]));
                let scaled = self.step("Div", &[x, &root2], vec![]);
                let erf = self.step("Erf", &[&scaled], vec![]);
                let cdf = self.step("Add", &[&erf, &one], vec![]);
                let prod = self.step("Mul", &[x, &cdf], vec![]);
                self.node("Mul", &[&prod, &half], &[out], vec![]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dense_graph_becomes_gemm_nodes_with_named_initializers_and_a_free_batch() {
        let mut g = Graph::new();
        let x = g.input("input", &[3]);
        let w = g.constant("encoder.layers.0.weight", &[2, 3], vec![0.5; 6]);
        let b = g.constant("encoder.layers.0.bias", &[2], vec![0.0; 2]);
        let h = g.node(Op::Linear, &[&x, &w, &b]);
        let z = g.node(Op::TopKRelu { k: 1 }, &[&h]);
        g.output(&z, "code", &[2]);
        let m = ModelProto::decode(to_bytes(&g, "test", &[]).as_slice()).unwrap();
        let graph = m.graph.unwrap();
        let ops: Vec<&str> = graph.node.iter().filter_map(|n| n.op_type.as_deref()).collect();
        assert_eq!(ops, ["Gemm", "TopK", "Relu", "Shape", "ConstantOfShape", "ScatterElements"]);
        assert_eq!(graph.node.last().unwrap().output, ["code"]);
        assert_eq!(graph.initializer[0].name.as_deref(), Some("encoder.layers.0.weight"));
        assert_eq!(graph.initializer[0].raw_data.as_ref().unwrap().len(), 6 * 4);
        let dims = &graph.input[0].r#type.as_ref().unwrap().tensor_type.as_ref().unwrap().shape.as_ref().unwrap().dim;
        assert_eq!((dims[0].dim_param.as_deref(), dims[1].dim_value), (Some("batch"), Some(3)));
        assert_eq!((m.ir_version, m.opset_import[0].version), (Some(IR_VERSION), Some(OPSET)));
    }
}
