//! Asking the API server what the operator may do, with
//! SelfSubjectAccessReviews: the authorizer's own answer for the
//! operator's identity, aggregated ClusterRoles and all, so nothing here
//! reimplements RBAC.
//!
//! Asking verb by verb would take dozens of requests per RGD; most answers
//! come from two shortcuts instead: one review of every verb on every
//! resource (an unrestricted operator, or an admin kubeconfig, stops
//! there), then one of every verb per target (a ClusterRole granting `*`
//! on a kind). Only a target that fails both is asked verb by verb, to
//! name what is missing.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;

use futures::future::try_join_all;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::PostParams;
use kube::{Api, Client};

use super::required::{Required, Target, Verb};

/// One question: may the operator do `verb` (`*`: every verb) on `target`
/// (`None`: every resource of every group, everywhere)?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question<'a> {
    /// The resource, or every one.
    pub target: Option<&'a Target>,
    /// The verb, or `None` for every verb.
    pub verb: Option<Verb>,
}

/// Whoever answers [`Question`]s: the API server, or a test's table.
pub trait Authorizer: Sync {
    /// Whether the operator's identity is allowed.
    fn allowed(
        &self,
        question: &Question<'_>,
    ) -> impl Future<Output = Result<bool, kube::Error>> + Send;
}

/// The API server answers for the identity of the client's credentials.
impl Authorizer for Client {
    async fn allowed(&self, question: &Question<'_>) -> Result<bool, kube::Error> {
        let any = || Some("*".to_owned());
        let attributes = match question.target {
            Some(target) => ResourceAttributes {
                group: Some(target.group.clone()),
                resource: Some(target.resource.clone()),
                subresource: Some(target.subresource.clone()).filter(|s| !s.is_empty()),
                namespace: target.namespace.clone(),
                verb: question.verb.map(|v| v.as_str().to_owned()).or_else(any),
                ..ResourceAttributes::default()
            },
            None => ResourceAttributes {
                group: any(),
                resource: any(),
                verb: any(),
                ..ResourceAttributes::default()
            },
        };
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(attributes),
                ..SelfSubjectAccessReviewSpec::default()
            },
            ..SelfSubjectAccessReview::default()
        };
        let answer = Api::<SelfSubjectAccessReview>::all(self.clone())
            .create(&PostParams::default(), &review)
            .await?;
        Ok(answer.status.is_some_and(|status| status.allowed))
    }
}

/// The verbs the operator lacks on one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// Where.
    pub target: Target,
    /// What, in [`Verb`] order.
    pub verbs: BTreeSet<Verb>,
}

/// `may not list, watch secrets (kind Secret) in every namespace`.
impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verbs: Vec<&str> = self.verbs.iter().map(|v| v.as_str()).collect();
        write!(f, "may not {} {}", verbs.join(", "), self.target)
    }
}

/// What the operator lacks of `required`, in target order; empty when it
/// has everything.
pub async fn missing(
    authorizer: &impl Authorizer,
    required: &Required,
) -> Result<Vec<Missing>, kube::Error> {
    let everything = Question {
        target: None,
        verb: None,
    };
    if authorizer.allowed(&everything).await? {
        return Ok(Vec::new());
    }
    let answers = try_join_all(
        required
            .iter()
            .map(|(target, verbs)| missing_on(authorizer, target, verbs)),
    )
    .await?;
    Ok(answers.into_iter().flatten().collect())
}

/// The verbs of `verbs` the operator lacks on `target`.
async fn missing_on(
    authorizer: &impl Authorizer,
    target: &Target,
    verbs: &BTreeSet<Verb>,
) -> Result<Option<Missing>, kube::Error> {
    let every_verb = Question {
        target: Some(target),
        verb: None,
    };
    if authorizer.allowed(&every_verb).await? {
        return Ok(None);
    }
    let mut lacking = BTreeSet::new();
    for &verb in verbs {
        let question = Question {
            target: Some(target),
            verb: Some(verb),
        };
        if !authorizer.allowed(&question).await? {
            lacking.insert(verb);
        }
    }
    Ok((!lacking.is_empty()).then(|| Missing {
        target: target.clone(),
        verbs: lacking,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Allows what its rules name, counting the questions.
    #[derive(Default)]
    struct Table {
        everything: bool,
        /// (resource, verb or `None` for `*`).
        rules: Vec<(&'static str, Option<Verb>)>,
        asked: Mutex<usize>,
    }

    impl Authorizer for Table {
        async fn allowed(&self, question: &Question<'_>) -> Result<bool, kube::Error> {
            *crate::locks::lock(&self.asked) += 1;
            let Some(target) = question.target else {
                return Ok(self.everything);
            };
            Ok(self.everything
                || self.rules.iter().any(|(resource, verb)| {
                    *resource == target.resource
                        && (verb.is_none() || (question.verb.is_some() && *verb == question.verb))
                }))
        }
    }

    fn target(resource: &str) -> Target {
        Target {
            group: String::new(),
            resource: resource.to_owned(),
            subresource: String::new(),
            kind: "Kind".to_owned(),
            namespaced: true,
            namespace: None,
        }
    }

    fn required() -> Required {
        let all = [Verb::Get, Verb::List, Verb::Watch, Verb::Create];
        [("configmaps", all), ("secrets", all)]
            .into_iter()
            .map(|(resource, verbs)| (target(resource), verbs.into_iter().collect()))
            .collect()
    }

    #[tokio::test]
    async fn an_unrestricted_operator_is_asked_once() {
        let table = Table {
            everything: true,
            ..Table::default()
        };
        assert_eq!(missing(&table, &required()).await.ok(), Some(Vec::new()));
        assert_eq!(*crate::locks::lock(&table.asked), 1);
    }

    #[tokio::test]
    async fn every_verb_on_a_kind_is_one_question() {
        let table = Table {
            rules: vec![("configmaps", None), ("secrets", None)],
            ..Table::default()
        };
        assert_eq!(missing(&table, &required()).await.ok(), Some(Vec::new()));
        assert_eq!(*crate::locks::lock(&table.asked), 3);
    }

    #[tokio::test]
    async fn the_missing_verbs_are_named_by_kind() {
        let table = Table {
            rules: vec![
                ("configmaps", None),
                ("secrets", Some(Verb::Get)),
                ("secrets", Some(Verb::Watch)),
            ],
            ..Table::default()
        };
        let missing = missing(&table, &required()).await.expect("answers");
        assert_eq!(
            missing,
            [Missing {
                target: target("secrets"),
                verbs: [Verb::List, Verb::Create].into_iter().collect(),
            }]
        );
        assert_eq!(
            missing[0].to_string(),
            "may not list, create secrets (kind Kind) in every namespace"
        );
    }
}
