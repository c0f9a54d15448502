#!/usr/bin/env bash
# placeholder, written below
