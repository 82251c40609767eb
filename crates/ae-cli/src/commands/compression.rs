//! `ae eval --compression`: what the autoencoder saves as a lossy compressor of the test images.
//! Bytes per image as the code (f32, f16 or 8-bit values, as `ae compress` stores them) against
//! the raw 8-bit pixels and two lossless baselines, PNG and gzip, each image on its own; and the
//! PSNR of the images the decoder rebuilds from each stored code.

use std::io::Write;

use image::ImageEncoder;

use ae_core::Autoencoder;
use ae_data::Split;
use serde_json::{Value, json};

use super::{decode_to_pixels, embed_split};
use ae_run::aec::{Quant, dequantise, quantise};

/// The figures, as JSON fields (bytes per image; PSNR in dB, mean over images).
pub(crate) fn report(model: &dyn Autoencoder, test: &Split, (h, w): (usize, usize)) -> anyhow::Result<Value> {
    let pixels = test.images.to_vec2::<f32>()?;
    let n = pixels.len().max(1) as f64;
    let (mut png, mut gzip) = (0usize, 0usize);
    for image in &pixels {
        let bytes: Vec<u8> = image.iter().map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect();
        let mut out = Vec::new();
        // The lossless baselines at their best settings, to be fair to them.
        image::codecs::png::PngEncoder::new_with_quality(
            &mut out,
            image::codecs::png::CompressionType::Best,
            image::codecs::png::FilterType::Adaptive,
        )
        .write_image(&bytes, w as u32, h as u32, image::ExtendedColorType::L8)?;
        png += out.len();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&bytes)?;
        gzip += gz.finish()?.len();
    }
    let codes = embed_split(model, test)?.to_vec2::<f32>()?;
    let code_dim = codes.first().map_or(0, Vec::len);
    let mut out = json!({
        "bytes_raw": h * w,
        "bytes_png": png as f64 / n,
        "bytes_gzip": gzip as f64 / n,
        "code_dim": code_dim,
    });
    for quant in Quant::ALL {
        let (payload, offset, step) = quantise(&codes, quant);
        // The 8-bit codes' per-dimension offset and step (two f32 each) are shared by the file.
        let shared = (offset.len() + step.len()) * 4;
        let restored = dequantise(&payload, quant, code_dim, &offset, &step);
        let mut psnr = 0.0;
        for (chunk, originals) in restored.chunks(1000).zip(pixels.chunks(1000)) {
            let zs = candle_core::Tensor::from_vec(chunk.concat(), (chunk.len(), code_dim), test.images.device())?;
            for (rebuilt, original) in decode_to_pixels(model, &zs)?.iter().zip(originals) {
                let mse = rebuilt.iter().zip(original).map(|(a, b)| f64::from(a - b).powi(2)).sum::<f64>()
                    / original.len().max(1) as f64;
                psnr += ae_train::psnr(mse);
            }
        }
        out[format!("bytes_code_{}", quant.name())] = json!((payload.len() + shared) as f64 / n);
        out[format!("psnr_code_{}", quant.name())] = json!(psnr / n);
    }
    Ok(out)
}

/// Prints the figures as a table.
pub(crate) fn print(c: &Value) {
    let f = |k: &str| c[k].as_f64().unwrap_or(f64::NAN);
    println!("  compression, bytes per image (PSNR of the rebuilt image):");
    println!("    raw pixels       {:>8.1}", f("bytes_raw"));
    println!("    png (lossless)   {:>8.1}", f("bytes_png"));
    println!("    gzip (lossless)  {:>8.1}", f("bytes_gzip"));
    for q in Quant::ALL {
        let name = q.name();
        println!(
            "    code, {name:<3}        {:>8.1}  ({:.2} dB)",
            f(&format!("bytes_code_{name}")),
            f(&format!("psnr_code_{name}"))
        );
    }
}
