from __future__ import annotations

import sys
from pathlib import Path

import pytest
from social_map.demo.generator import demo_map
from social_map.domain.freshness import FreshnessPolicy
from social_map.domain.model import SocialMapData
from social_map.domain.taxonomy import Taxonomy, default_taxonomy
from social_map.domain.text_analysis import Analyzer

# the shared builders live beside this file; importlib import mode does not add it to sys.path
sys.path.insert(0, str(Path(__file__).parent))

from social_map_testkit import NOW


@pytest.fixture(scope="session")
def taxonomy() -> Taxonomy:
    return default_taxonomy()


@pytest.fixture(scope="session")
def analyzer(taxonomy: Taxonomy) -> Analyzer:
    return Analyzer.for_taxonomy(taxonomy)


@pytest.fixture
def policy() -> FreshnessPolicy:
    return FreshnessPolicy()


@pytest.fixture(scope="session")
def demo() -> SocialMapData:
    return demo_map(reference=NOW)
