//! The dependency graph between the resources of one RGD.
//!
//! Built on `daggy`, which refuses an edge that would close a cycle. On top
//! of it, this module gives what kro needs and `daggy` does not: a
//! topological order that is stable under declaration order (among the
//! resources that are ready, the one declared first comes first, so the same
//! RGD always yields the same `status.topologicalOrder`), the path of a cycle
//! for the error message, and the reverse layers used for ordered deletion.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use daggy::petgraph::Direction;
use daggy::petgraph::visit::EdgeRef;
use daggy::{Dag, NodeIndex};
use indexmap::IndexMap;
use thiserror::Error;

/// Why a dependency could not be added.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DagError {
    /// A dependency names a resource that the graph does not have.
    #[error("node {id} does not exist")]
    UnknownNode {
        /// The unknown id.
        id: String,
    },
    /// A resource depends on itself.
    #[error("self references are not allowed: {id} refers to itself")]
    SelfReference {
        /// The resource.
        id: String,
    },
    /// The dependency would close a cycle. The path lists each resource
    /// followed by one it depends on, starting and ending with the
    /// earliest-declared resource of the cycle.
    #[error("graph contains a cycle: {}", path.join(" -> "))]
    Cycle {
        /// The cycle, first element repeated at the end.
        path: Vec<String>,
    },
}

/// Resources (by id, in declaration order) and the dependencies between
/// them. Edges point from a dependency to its dependant, so walking edges
/// forward follows creation order.
#[derive(Debug, Clone, Default)]
pub struct DependencyGraph {
    dag: Dag<(), ()>,
    /// Id → node; the map's order is declaration order, and a node's index
    /// equals its declaration index.
    nodes: IndexMap<String, NodeIndex>,
}

impl DependencyGraph {
    /// A graph of the given resources, without dependencies. Duplicate ids
    /// are kept once, at their first position (the builder reports them).
    pub fn new<I, S>(ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut graph = Self::default();
        for id in ids {
            let id = id.into();
            if !graph.nodes.contains_key(&id) {
                let node = graph.dag.add_node(());
                graph.nodes.insert(id, node);
            }
        }
        graph
    }

    /// Number of resources.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the graph has no resources.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn node(&self, id: &str) -> Result<NodeIndex, DagError> {
        self.nodes
            .get(id)
            .copied()
            .ok_or_else(|| DagError::UnknownNode { id: id.to_owned() })
    }

    fn id(&self, node: NodeIndex) -> &str {
        // Nodes are only ever created together with their map entry, at the
        // same position, so the index is always in range.
        self.nodes
            .get_index(node.index())
            .map_or("", |(id, _)| id.as_str())
    }

    /// Records that `id` depends on each of `dependencies` (which must be
    /// created first). Repeated dependencies are recorded once. On error,
    /// none of this call's dependencies are kept.
    pub fn add_dependencies<'a>(
        &mut self,
        id: &str,
        dependencies: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), DagError> {
        let dependant = self.node(id)?;
        let mut added = Vec::new();
        for dependency in dependencies {
            let result = self.add_dependency(dependant, dependency);
            match result {
                Ok(Some(edge)) => added.push(edge),
                Ok(None) => {}
                Err(error) => {
                    for edge in added.into_iter().rev() {
                        self.dag.remove_edge(edge);
                    }
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    fn add_dependency(
        &mut self,
        dependant: NodeIndex,
        dependency: &str,
    ) -> Result<Option<daggy::EdgeIndex>, DagError> {
        let dependency = self.node(dependency)?;
        if dependency == dependant {
            return Err(DagError::SelfReference {
                id: self.id(dependant).to_owned(),
            });
        }
        if self.dag.find_edge(dependency, dependant).is_some() {
            return Ok(None);
        }
        match self.dag.add_edge(dependency, dependant, ()) {
            Ok(edge) => Ok(Some(edge)),
            Err(_) => Err(DagError::Cycle {
                path: self.cycle_through(dependant, dependency),
            }),
        }
    }

    /// The cycle that an edge `dependency -> dependant` would close: the
    /// existing creation-order path from `dependant` to `dependency`, read
    /// as "depends on" arrows and rotated to start at the resource declared
    /// first.
    fn cycle_through(&self, dependant: NodeIndex, dependency: NodeIndex) -> Vec<String> {
        let creation_path = self.path(dependant, dependency);
        // creation_path: dependant, x1, ..., dependency, where each depends
        // on the one before. As dependencies: dependant -> dependency ->
        // ... -> x1 -> dependant.
        let mut cycle: Vec<NodeIndex> = std::iter::once(dependant)
            .chain(creation_path.iter().rev().copied())
            .collect();
        cycle.pop(); // `dependant` again; re-added after rotation.
        let start = cycle
            .iter()
            .enumerate()
            .min_by_key(|(_, node)| node.index())
            .map_or(0, |(position, _)| position);
        cycle.rotate_left(start);
        let first = cycle.first().copied();
        cycle
            .into_iter()
            .chain(first)
            .map(|node| self.id(node).to_owned())
            .collect()
    }

    /// A creation-order path from `from` to `to` (both included), found
    /// breadth-first visiting dependants in declaration order, so that the
    /// same graph always reports the same cycle.
    fn path(&self, from: NodeIndex, to: NodeIndex) -> Vec<NodeIndex> {
        let mut previous: Vec<Option<NodeIndex>> = vec![None; self.len()];
        let mut queue = std::collections::VecDeque::from([from]);
        let mut seen = vec![false; self.len()];
        seen[from.index()] = true;
        while let Some(node) = queue.pop_front() {
            if node == to {
                break;
            }
            for next in self.neighbours(node, Direction::Outgoing) {
                if !seen[next.index()] {
                    seen[next.index()] = true;
                    previous[next.index()] = Some(node);
                    queue.push_back(next);
                }
            }
        }
        let mut path = vec![to];
        let mut node = to;
        while let Some(before) = previous[node.index()] {
            path.push(before);
            node = before;
        }
        path.reverse();
        path
    }

    /// Neighbours in one direction, in declaration order.
    fn neighbours(&self, node: NodeIndex, direction: Direction) -> Vec<NodeIndex> {
        let graph = self.dag.graph();
        let mut neighbours: Vec<NodeIndex> = graph
            .edges_directed(node, direction)
            .map(|edge| match direction {
                Direction::Outgoing => edge.target(),
                Direction::Incoming => edge.source(),
            })
            .collect();
        neighbours.sort_unstable();
        neighbours
    }

    /// The resources `id` depends on directly, in declaration order.
    pub fn dependencies(&self, id: &str) -> Result<Vec<&str>, DagError> {
        let node = self.node(id)?;
        Ok(self
            .neighbours(node, Direction::Incoming)
            .into_iter()
            .map(|n| self.id(n))
            .collect())
    }

    /// Creation order: every resource after all it depends on and, among the
    /// resources ready at each step, the one declared first.
    pub fn topological_order(&self) -> Vec<&str> {
        let graph = self.dag.graph();
        let mut waiting_on: Vec<usize> = (0..self.len())
            .map(|i| {
                graph
                    .edges_directed(NodeIndex::new(i), Direction::Incoming)
                    .count()
            })
            .collect();
        let mut ready: BinaryHeap<Reverse<usize>> = waiting_on
            .iter()
            .enumerate()
            .filter(|(_, count)| **count == 0)
            .map(|(i, _)| Reverse(i))
            .collect();
        let mut order = Vec::with_capacity(self.len());
        while let Some(Reverse(index)) = ready.pop() {
            let node = NodeIndex::new(index);
            order.push(self.id(node));
            for edge in graph.edges_directed(node, Direction::Outgoing) {
                let next = edge.target().index();
                waiting_on[next] -= 1;
                if waiting_on[next] == 0 {
                    ready.push(Reverse(next));
                }
            }
        }
        order
    }

    /// Deletion waves: first the resources nothing depends on, then those
    /// whose dependants are all in earlier waves, and so on. Within a wave,
    /// declaration order.
    pub fn reverse_layers(&self) -> Vec<Vec<&str>> {
        let graph = self.dag.graph();
        let mut dependants: Vec<usize> = (0..self.len())
            .map(|i| {
                graph
                    .edges_directed(NodeIndex::new(i), Direction::Outgoing)
                    .count()
            })
            .collect();
        let mut layer: Vec<usize> = (0..self.len()).filter(|&i| dependants[i] == 0).collect();
        let mut layers = Vec::new();
        while !layer.is_empty() {
            let mut next = Vec::new();
            for &index in &layer {
                for edge in graph.edges_directed(NodeIndex::new(index), Direction::Incoming) {
                    let dependency = edge.source().index();
                    dependants[dependency] -= 1;
                    if dependants[dependency] == 0 {
                        next.push(dependency);
                    }
                }
            }
            next.sort_unstable();
            layers.push(layer.iter().map(|&i| self.id(NodeIndex::new(i))).collect());
            layer = next;
        }
        layers
    }
}

impl DependencyGraph {
    /// Each resource's deletion wave, the value of its
    /// `internal.kro.run/apply-order` annotation: resources nothing depends
    /// on get the highest number and are deleted first; resources that
    /// depend on nothing get 1 and go last. In declaration order.
    pub fn deletion_waves(&self) -> Vec<(&str, usize)> {
        let layers = self.reverse_layers();
        let count = layers.len();
        let mut waves: Vec<(&str, usize)> = layers
            .into_iter()
            .enumerate()
            .flat_map(|(layer, ids)| ids.into_iter().map(move |id| (id, count - layer)))
            .collect();
        waves.sort_by_key(|(id, _)| self.nodes.get_index_of(*id));
        waves
    }
}

#[cfg(test)]
mod tests {
    use super::{DagError, DependencyGraph};

    fn graph(ids: &[&str], edges: &[(&str, &[&str])]) -> Result<DependencyGraph, DagError> {
        let mut graph = DependencyGraph::new(ids.iter().copied());
        for (id, deps) in edges {
            graph.add_dependencies(id, deps.iter().copied())?;
        }
        Ok(graph)
    }

    #[test]
    fn orders_dependencies_first_then_by_declaration() {
        let g = graph(
            &["ingress", "service", "deployment", "config"],
            &[("ingress", &["service"]), ("service", &["deployment"])],
        )
        .unwrap();
        // Once deployment is created, service (declared before config) is
        // ready and goes first, and then ingress, also declared earlier.
        assert_eq!(
            g.topological_order(),
            ["deployment", "service", "ingress", "config"]
        );
        assert_eq!(g.dependencies("ingress").unwrap(), ["service"]);
    }

    #[test]
    fn independent_resources_keep_declaration_order() {
        let g = graph(&["c", "a", "b"], &[]).unwrap();
        assert_eq!(g.topological_order(), ["c", "a", "b"]);
        assert_eq!(g.reverse_layers(), vec![vec!["c", "a", "b"]]);
    }

    #[test]
    fn diamond() {
        let g = graph(
            &["top", "left", "right", "bottom"],
            &[
                ("left", &["top"]),
                ("right", &["top"]),
                ("bottom", &["right", "left"]),
            ],
        )
        .unwrap();
        assert_eq!(g.topological_order(), ["top", "left", "right", "bottom"]);
        assert_eq!(g.dependencies("bottom").unwrap(), ["left", "right"]);
        assert_eq!(
            g.reverse_layers(),
            vec![vec!["bottom"], vec!["left", "right"], vec!["top"]]
        );
    }

    #[test]
    fn two_node_cycle_names_both() {
        let error = graph(&["a", "b"], &[("a", &["b"]), ("b", &["a"])]).unwrap_err();
        assert_eq!(error.to_string(), "graph contains a cycle: a -> b -> a");
    }

    #[test]
    fn longer_cycle_starts_at_the_first_declared() {
        let error = graph(
            &["x", "c", "a", "b"],
            &[("c", &["a"]), ("a", &["b"]), ("b", &["c"])],
        )
        .unwrap_err();
        assert_eq!(
            error,
            DagError::Cycle {
                path: ["c", "a", "b", "c"].map(String::from).to_vec()
            }
        );
    }

    #[test]
    fn failed_call_keeps_no_partial_edges() {
        let mut g = graph(&["a", "b", "c"], &[("b", &["a"])]).unwrap();
        let error = g.add_dependencies("a", ["c", "b"]).unwrap_err();
        assert!(matches!(error, DagError::Cycle { .. }));
        assert!(
            g.dependencies("a").unwrap().is_empty(),
            "the edge a <- c was rolled back"
        );
        assert_eq!(g.topological_order(), ["a", "b", "c"]);
    }

    #[test]
    fn unknown_and_self_references_are_errors() {
        let mut g = DependencyGraph::new(["a"]);
        assert_eq!(
            g.add_dependencies("a", ["zz"]).unwrap_err().to_string(),
            "node zz does not exist"
        );
        assert_eq!(
            g.add_dependencies("a", ["a"]).unwrap_err().to_string(),
            "self references are not allowed: a refers to itself"
        );
        assert!(matches!(
            g.add_dependencies("q", []),
            Err(DagError::UnknownNode { .. })
        ));
    }

    #[test]
    fn repeated_dependencies_count_once() {
        let g = graph(&["a", "b"], &[("b", &["a", "a"]), ("b", &["a"])]).unwrap();
        assert_eq!(g.dependencies("b").unwrap(), ["a"]);
        assert_eq!(g.reverse_layers(), vec![vec!["b"], vec!["a"]]);
    }

    #[test]
    fn long_chain_orders_linearly() {
        let ids: Vec<String> = (0..500).map(|i| format!("r{i}")).collect();
        let mut g = DependencyGraph::new(ids.iter().rev().cloned());
        for pair in ids.windows(2) {
            g.add_dependencies(&pair[1], [pair[0].as_str()]).unwrap();
        }
        let order = g.topological_order();
        assert_eq!(order.len(), 500);
        assert_eq!(order.first(), Some(&"r0"));
        assert_eq!(order.last(), Some(&"r499"));
        assert_eq!(g.reverse_layers().len(), 500);
    }
}
