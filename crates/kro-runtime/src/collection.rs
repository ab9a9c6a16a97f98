//! The items of a `forEach` collection: the cartesian product of its
//! iterators' lists.

use serde_json::Value;
use thiserror::Error;

/// Why a collection cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CollectionError {
    /// The product has more items than allowed.
    #[error("collection size of {size} is over the maximum collection size of {max}")]
    TooLarge {
        /// Items the product would have (saturated at `u64::MAX`).
        size: u64,
        /// The limit.
        max: usize,
    },
}

/// One item: each iterator's name and its value for this item, in
/// iterator order.
pub type Item = Vec<(String, Value)>;

/// Expands iterators into items: the first iterator is the outermost loop,
/// as an author reads the `forEach` list. An empty list gives no items.
/// The size is checked before anything is built, so a huge product costs
/// nothing.
pub fn expand(
    iterators: &[(String, Vec<Value>)],
    max_size: usize,
) -> Result<Vec<Item>, CollectionError> {
    let size = iterators
        .iter()
        .try_fold(1u64, |size, (_, values)| {
            size.checked_mul(values.len() as u64)
        })
        .unwrap_or(u64::MAX);
    if size > max_size as u64 {
        return Err(CollectionError::TooLarge {
            size,
            max: max_size,
        });
    }
    if iterators.is_empty() || size == 0 {
        return Ok(Vec::new());
    }
    // An odometer: the last iterator turns fastest.
    let mut positions = vec![0usize; iterators.len()];
    let mut items = Vec::with_capacity(size as usize);
    loop {
        items.push(
            iterators
                .iter()
                .zip(&positions)
                .map(|((name, values), &position)| (name.clone(), values[position].clone()))
                .collect(),
        );
        let mut wheel = iterators.len();
        loop {
            if wheel == 0 {
                return Ok(items);
            }
            wheel -= 1;
            positions[wheel] += 1;
            if positions[wheel] < iterators[wheel].1.len() {
                break;
            }
            positions[wheel] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn iterator(name: &str, values: Value) -> (String, Vec<Value>) {
        (
            name.to_owned(),
            values.as_array().cloned().unwrap_or_default(),
        )
    }

    #[test]
    fn product_in_declaration_order() {
        let items = expand(
            &[
                iterator("zone", json!(["a", "b"])),
                iterator("arch", json!(["x86", "arm"])),
            ],
            10,
        )
        .unwrap();
        let flat: Vec<String> = items
            .iter()
            .map(|item| {
                item.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        assert_eq!(
            flat,
            [
                "zone=a,arch=x86",
                "zone=a,arch=arm",
                "zone=b,arch=x86",
                "zone=b,arch=arm"
            ]
        );
    }

    #[test]
    fn single_dimension_keeps_values_whole() {
        let items = expand(&[iterator("db", json!([{ "name": "a" }, [1, 2]]))], 10).unwrap();
        assert_eq!(items[0], [("db".to_owned(), json!({ "name": "a" }))]);
        assert_eq!(items[1], [("db".to_owned(), json!([1, 2]))]);
    }

    #[test]
    fn empty_dimensions_give_no_items() {
        assert!(
            expand(&[iterator("a", json!([1])), iterator("b", json!([]))], 10)
                .unwrap()
                .is_empty()
        );
        assert!(expand(&[], 10).unwrap().is_empty());
    }

    #[test]
    fn size_limit_is_checked_before_building() {
        let big: Vec<Value> = (0..1000).map(|i| json!(i)).collect();
        let iterators = vec![
            ("a".to_owned(), big.clone()),
            ("b".to_owned(), big.clone()),
            ("c".to_owned(), big),
        ];
        assert_eq!(
            expand(&iterators, 1000).unwrap_err().to_string(),
            "collection size of 1000000000 is over the maximum collection size of 1000"
        );
        assert_eq!(expand(&iterators[..1], 1000).unwrap().len(), 1000);
    }
}
