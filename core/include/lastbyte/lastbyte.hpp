// Umbrella header.
#pragma once

#include <lastbyte/backend.hpp>
#include <lastbyte/config.hpp>
#include <lastbyte/connection.hpp>
#include <lastbyte/verdict.hpp>
